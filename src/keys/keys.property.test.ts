import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidKeyInputError } from '../errors/errors.ts';
import { canonicalize } from './canonicalize.ts';
import { deriveKey, MAX_KEY_FIELDS_BYTES } from './derive.ts';
import { fingerprint, sha256Hex, sha256HexStreaming } from './fingerprint.ts';

const RUNS = { numRuns: 200 } as const;

type Json = null | boolean | number | string | Json[] | { [name: string]: Json };

/** JSON values with arbitrary well-formed Unicode in names and strings ('binary' never yields lone surrogates). */
const json = fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' }) as fc.Arbitrary<Json>;

/** Small deterministic PRNG so a shuffle is reproducible from the seed fast-check shrinks. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The same data with every object's members inserted in a random order (fromEntries keeps "__proto__" as data). */
function shuffleKeys(value: Json, random: () => number): Json {
  if (Array.isArray(value)) return value.map((item) => shuffleKeys(item, random));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [entries[i], entries[j]] = [entries[j] as [string, Json], entries[i] as [string, Json]];
  }
  return Object.fromEntries(entries.map(([name, item]) => [name, shuffleKeys(item, random)]));
}

/** What JSON gives back: -0 becomes 0, nothing else changes. */
function withoutNegativeZero(value: Json): Json {
  if (Array.isArray(value)) return value.map(withoutNegativeZero);
  if (typeof value === 'number') return Object.is(value, -0) ? 0 : value;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, withoutNegativeZero(item)]));
}

/** RFC 8785 section 3.2.3 order: plain UTF-16 code unit comparison, written out independently of sort(). */
function utf16Compare(a: string, b: string): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const diff = a.charCodeAt(i) - b.charCodeAt(i);
    if (diff !== 0) return diff;
  }
  return a.length - b.length;
}

function pointer(path: readonly (string | number)[]): string {
  return path.map((part) => `/${String(part).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/** Every position in `value` where a leaf could be swapped in: the root, each array item, each member value. */
function positions(value: Json, at: (string | number)[] = []): (string | number)[][] {
  const found = [at];
  if (Array.isArray(value)) value.forEach((item, i) => found.push(...positions(item, [...at, i])));
  else if (value !== null && typeof value === 'object') {
    for (const [name, item] of Object.entries(value)) found.push(...positions(item, [...at, name]));
  }
  return found;
}

function replaceAt(value: Json, path: readonly (string | number)[], leaf: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return leaf;
  if (Array.isArray(value)) return value.map((item, i) => (i === head ? replaceAt(item, rest, leaf) : item));
  const record = value as Record<string, Json>;
  return Object.fromEntries(
    Object.entries(record).map(([name, item]) => [name, name === head ? replaceAt(item, rest, leaf) : item]),
  );
}

const unrepresentable = fc.constantFrom<readonly [string, () => unknown]>(
  ['undefined', () => undefined],
  ['NaN', () => NaN],
  ['Infinity', () => Infinity],
  ['-Infinity', () => -Infinity],
  ['bigint', () => 1n],
  ['function', () => () => 0],
  ['symbol', () => Symbol('leaf')],
  ['Date', () => new Date(0)],
  ['Map', () => new Map()],
  ['lone surrogate', () => 'x\udc00'],
  ['cycle', () => undefined],
);

describe('canonical JSON properties', () => {
  it('does not depend on member order (canonical text, fingerprint and key)', () => {
    fc.assert(
      fc.property(json, fc.integer(), (value, seed) => {
        const shuffled = shuffleKeys(value, prng(seed));
        expect(canonicalize(shuffled)).toBe(canonicalize(value));
        expect(fingerprint(shuffled)).toBe(fingerprint(value));
        if (Buffer.byteLength(canonicalize(value)) <= MAX_KEY_FIELDS_BYTES) {
          const input = { namespace: 'prop', operation: 'order', version: 1 };
          expect(deriveKey({ ...input, fields: shuffled })).toBe(deriveKey({ ...input, fields: value }));
        }
      }),
      RUNS,
    );
  });

  it('is a fixed point through JSON.parse', () => {
    fc.assert(
      fc.property(json, (value) => {
        const text = canonicalize(value);
        expect(canonicalize(JSON.parse(text))).toBe(text);
      }),
      RUNS,
    );
  });

  it('parses back to the same data (with -0 as 0)', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(JSON.parse(canonicalize(value))).toStrictEqual(withoutNegativeZero(value));
      }),
      RUNS,
    );
  });

  it('writes every finite double so that it reads back as exactly the same double', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        const text = canonicalize(value);
        expect(text).toMatch(/^-?(0|[1-9]\d*)(\.\d+)?(e[+-]\d+)?$/);
        expect(Number(text)).toBe(Object.is(value, -0) ? 0 : value);
        expect(text).toBe(String(value));
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips any well-formed Unicode string, escaping only controls, " and \\', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        const written = canonicalize(text);
        expect(JSON.parse(written)).toBe(text);
        const units = Array.from({ length: written.length }, (_, i) => written.charCodeAt(i));
        expect(units.filter((unit) => unit < 0x20)).toEqual([]);
        for (const escape of written.matchAll(/\\(u[0-9a-fA-F]{4}|.)/g)) {
          expect(escape[1]).toMatch(/^(u00[01][0-9a-f]|[btnfr"\\])$/);
        }
      }),
      RUNS,
    );
  });

  it('orders member names by UTF-16 code units', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), fc.nat()), (value) => {
        const members = new Map(Object.entries(value));
        const order = [...members.keys()].sort(utf16Compare);
        const expected = `{${order.map((name) => `${JSON.stringify(name)}:${String(members.get(name))}`).join(',')}}`;
        expect(canonicalize(value)).toBe(expected);
      }),
      RUNS,
    );
  });

  it('accepts nesting up to 128 levels and refuses deeper', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 160 }), fc.boolean(), (levels, objects) => {
        let value: unknown = objects ? {} : [];
        for (let i = 1; i < levels; i++) value = objects ? { k: value } : [value];
        if (levels <= 128)
          expect(canonicalize(value)).toHaveLength(levels * (objects ? 6 : 2) - (objects ? 4 : 0));
        else expect(() => canonicalize(value)).toThrow(InvalidKeyInputError);
      }),
      { numRuns: 100 },
    );
  });

  it('gives distinct fingerprints to distinct values and equal ones to equal values', () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        expect(fingerprint(a) === fingerprint(b)).toBe(canonicalize(a) === canonicalize(b));
      }),
      RUNS,
    );
  });

  it('refuses any value with an unrepresentable leaf, naming where it is', () => {
    fc.assert(
      fc.property(json, fc.nat(), unrepresentable, (value, pick, [kind, leaf]) => {
        const all = positions(value);
        const path = all[pick % all.length] ?? [];
        let bad: unknown;
        if (kind === 'cycle') {
          // A container at that position that holds its own outermost ancestor.
          const holder: unknown[] = [];
          bad = replaceAt(value, path, holder);
          holder.push(bad);
        } else {
          bad = replaceAt(value, path, leaf());
        }
        let error: unknown;
        try {
          canonicalize(bad);
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(InvalidKeyInputError);
        const expectedPath = kind === 'cycle' ? `${pointer(path)}/0` : pointer(path);
        expect((error as InvalidKeyInputError).path).toBe(expectedPath);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a lone surrogate in any member name', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 5 }),
        fc.integer({ min: 0xd800, max: 0xdfff }),
        fc.string({ unit: 'binary', maxLength: 5 }),
        (before, unit, after) => {
          const name = before + String.fromCharCode(unit) + after;
          expect(() => canonicalize({ ok: 1, nested: { [name]: 1 } })).toThrow(InvalidKeyInputError);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('sha256Hex', () => {
  it('gives the streaming hash on every Node, whichever path this one takes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(sha256Hex(text)).toBe(sha256HexStreaming(text));
      }),
    );
  });
});
