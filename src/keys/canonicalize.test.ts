import { describe, expect, it } from 'vitest';
import { InvalidKeyInputError } from '../errors/errors.ts';
import { canonicalize } from './canonicalize.ts';

/** The error `canonicalize(value)` throws; fails the test when it does not throw an `InvalidKeyInputError`. */
function refusal(value: unknown): InvalidKeyInputError {
  try {
    canonicalize(value);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidKeyInputError);
    return err as InvalidKeyInputError;
  }
  throw new Error(`canonicalize accepted ${String(value)}`);
}

/** An IEEE 754 double from its 16 hex digits (big-endian), as RFC 8785 Appendix B writes them. */
function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

function nestedArrays(levels: number): unknown {
  let value: unknown = [];
  for (let i = 1; i < levels; i++) value = [value];
  return value;
}

describe('canonicalize: RFC 8785 examples', () => {
  // RFC 8785 section 3.2.2 input, parsed exactly as the RFC writes it (JSON.parse accepts its escapes).
  const section322Input = String.raw`{
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  }`;

  it('canonicalizes the section 3.2.2 sample to the section 3.2.3 text', () => {
    // Section 3.2.3, "a properly canonicalized version" (the RFC's display line wrap removed).
    const expected =
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
      String.raw`"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    expect(canonicalize(JSON.parse(section322Input))).toBe(expected);
  });

  it('produces the exact UTF-8 bytes of section 3.2.4', () => {
    const rfcHex = `
      7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
      75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
      5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
      65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
      5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
      30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d`.replace(/\s+/g, '');
    expect(Buffer.from(canonicalize(JSON.parse(section322Input)), 'utf8').toString('hex')).toBe(rfcHex);
  });

  it('sorts the section 3.2.3 test data by UTF-16 code units', () => {
    const input = JSON.parse(String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`) as Record<string, string>;
    const text = canonicalize(input);
    // Section 3.2.3, "Expected argument order after sorting property strings". Read from the text, not
    // from JSON.parse: a parsed object would list the integer-like name "1" first.
    const order = [...text.matchAll(/:"([^"]*)"/g)].map((match) => match[1]);
    expect(order).toEqual([
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
    expect(text).toBe(
      String.raw`{"\r":"Carriage Return","1":"One","` +
        '\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",' +
        '"\u{1f600}":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('orders "" < "a" < "aa" < "ab" (section 3.2.3, plain-English ordering)', () => {
    expect(canonicalize({ ab: 4, aa: 3, a: 2, '': 1 })).toBe('{"":1,"a":2,"aa":3,"ab":4}');
  });

  it('sorts child objects, including objects inside arrays, but keeps array order (section 3.2.3)', () => {
    expect(canonicalize({ z: [{ b: 1, a: 2 }, 3, { d: { f: 0, e: 1 } }], y: { c: 1, B: 2 } })).toBe(
      '{"y":{"B":2,"c":1},"z":[{"a":2,"b":1},3,{"d":{"e":1,"f":0}}]}',
    );
  });

  it('emits no whitespace between tokens (section 3.2.1)', () => {
    expect(canonicalize({ a: [1, { b: null }], c: 'x y' })).toBe('{"a":[1,{"b":null}],"c":"x y"}');
  });

  it('serializes literals as null, true and false (section 3.2.2.1)', () => {
    expect(canonicalize([null, true, false])).toBe('[null,true,false]');
  });

  it('does not apply Unicode normalization (section 3.1)', () => {
    expect(canonicalize('A\u030a')).toBe('"A\u030a"');
    expect(canonicalize('A\u030a')).not.toBe(canonicalize('\u00c5'));
  });
});

describe('canonicalize: strings (RFC 8785 section 3.2.2.2)', () => {
  it('writes the five predefined control escapes and lowercase \\u00hh for the other controls', () => {
    expect(canonicalize('\b\t\n\f\r')).toBe(String.raw`"\b\t\n\f\r"`);
    expect(canonicalize('\u0000\u0001\u000b\u000e\u001f')).toBe(String.raw`"\u0000\u0001\u000b\u000e\u001f"`);
  });

  it('escapes only \\ and " outside the control range; everything else is written as is', () => {
    expect(canonicalize('a"b\\c/d')).toBe(String.raw`"a\"b\\c/d"`);
    expect(canonicalize('\u007f\u0080\u00f6\u20ac\ufb33\u{1f600}</script>')).toBe(
      '"\u007f\u0080\u00f6\u20ac\ufb33\u{1f600}</script>"',
    );
  });

  it('applies the same rules to property names', () => {
    expect(canonicalize({ '\n': 1, '"': 2, '\u20ac': 3 })).toBe(String.raw`{"\n":1,"\"":2,"` + '\u20ac":3}');
  });
});

describe('canonicalize: numbers (RFC 8785 section 3.2.2.3 and Appendix B)', () => {
  // Appendix B, Table 1: IEEE 754 bits and their JSON representation.
  const table: readonly (readonly [string, string])[] = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];

  it.each(table)('bits %s serialize as %s', (bits, json) => {
    expect(canonicalize(fromBits(bits))).toBe(json);
    expect(canonicalize([fromBits(bits)])).toBe(`[${json}]`);
  });

  it.each([
    ['7fffffffffffffff', 'NaN'],
    ['7ff0000000000000', 'Infinity'],
  ])('bits %s (%s) are refused, as Appendix B note 3 and section 3.2.2.3 require', (bits) => {
    expect(refusal(fromBits(bits)).code).toBe('RS_INVALID_KEY_INPUT');
  });

  it.each([
    [1e21, '1e+21'],
    [1e20, '100000000000000000000'],
    [1e-7, '1e-7'],
    [1e-6, '0.000001'],
    [-0, '0'],
    // The RFC's own spelling, more digits than a double holds (a literal would trip no-loss-of-precision).
    [Number('333333333.33333329'), '333333333.3333333'],
    [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [9007199254740991, '9007199254740991'],
    [-9007199254740991, '-9007199254740991'],
    [1e30, '1e+30'],
    [4.5, '4.5'],
    [0.002, '0.002'],
    [0.1 + 0.2, '0.30000000000000004'],
    [100, '100'],
    [-1.5, '-1.5'],
  ])('%d serializes as %s', (value, json) => {
    expect(canonicalize(value)).toBe(json);
  });
});

describe('canonicalize: accepted shapes', () => {
  it('accepts null-prototype objects like plain ones', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { b: 1, a: 2 });
    expect(canonicalize(bare)).toBe('{"a":2,"b":1}');
  });

  it('accepts the same object twice when it is shared, not cyclic', () => {
    const shared = { x: 1 };
    expect(canonicalize({ a: shared, b: [shared, shared] })).toBe('{"a":{"x":1},"b":[{"x":1},{"x":1}]}');
  });

  it('accepts exactly 128 levels of nesting', () => {
    const text = canonicalize(nestedArrays(128));
    expect(text).toBe('['.repeat(128) + ']'.repeat(128));
  });

  it('keeps an own "__proto__" member as data', () => {
    expect(canonicalize(JSON.parse('{"__proto__":1,"a":2}'))).toBe('{"__proto__":1,"a":2}');
  });
});

describe('canonicalize: refused values', () => {
  const symbolKeyed = { ok: 1, [Symbol('hidden')]: 2 };
  const cyclicObject: Record<string, unknown> = { a: { b: 1 } };
  (cyclicObject['a'] as Record<string, unknown>)['self'] = cyclicObject;
  const cyclicArray: unknown[] = [1];
  cyclicArray.push([cyclicArray]);
  // eslint-disable-next-line no-sparse-arrays -- the hole is the point of the case
  const sparse = [1, , 3];
  class Money {
    readonly cents = 100;
  }

  const cases: readonly (readonly [string, unknown, string])[] = [
    ['undefined at the root', undefined, ''],
    ['undefined as a property value', { a: 1, b: undefined }, '/b'],
    ['undefined as an array item', [1, undefined], '/1'],
    ['a sparse array hole', sparse, '/1'],
    ['a function', { f: () => 1 }, '/f'],
    ['a symbol value', { s: Symbol('s') }, '/s'],
    ['a symbol-keyed property', symbolKeyed, ''],
    ['a symbol-keyed property in a child', { child: symbolKeyed }, '/child'],
    ['NaN', { n: NaN }, '/n'],
    ['Infinity', { n: [Infinity] }, '/n/0'],
    ['-Infinity', { n: -Infinity }, '/n'],
    ['a bigint', { amount: 10n }, '/amount'],
    ['a cyclic object', cyclicObject, '/a/self'],
    ['a cyclic array', cyclicArray, '/1/0'],
    ['a lone high surrogate in a string', { s: 'ok\ud800' }, '/s'],
    ['a lone low surrogate in a string', ['\udead'], '/0'],
    ['a lone surrogate in a property name', { '\udead': 1 }, '/\udead'],
    ['a Date', { at: new Date(0) }, '/at'],
    ['a Map', { m: new Map([['a', 1]]) }, '/m'],
    ['a Set', [new Set([1])], '/0'],
    ['a class instance', { price: new Money() }, '/price'],
    ['a boxed primitive', { s: new String('x') }, '/s'],
    ['a typed array', { bytes: new Uint8Array(2) }, '/bytes'],
    ['an object with toJSON', { v: { toJSON: () => 'x' } }, '/v/toJSON'],
    ['nesting deeper than 128', nestedArrays(129), '/0'.repeat(128)],
    ['deep nesting inside an object', { deep: nestedArrays(128) }, '/deep' + '/0'.repeat(127)],
  ];

  it.each(cases)('refuses %s with code RS_INVALID_KEY_INPUT at the right path', (_name, value, path) => {
    const error = refusal(value);
    expect(error.code).toBe('RS_INVALID_KEY_INPUT');
    expect(error.path).toBe(path);
    if (path !== '') expect(error.message).toContain(`at ${path}`);
  });

  it('escapes "~" and "/" in path segments as JSON pointers do', () => {
    expect(refusal({ 'a/b': { '~c': undefined } }).path).toBe('/a~1b/~0c');
  });

  it('refuses an object nested 129 levels deep, counting objects and arrays alike', () => {
    let value: unknown = {};
    for (let i = 1; i < 129; i++) value = i % 2 === 0 ? { k: value } : [value];
    expect(refusal(value).message).toContain('nesting deeper than 128');
  });
});
