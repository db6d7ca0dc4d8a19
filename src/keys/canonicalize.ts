import { InvalidKeyInputError } from '../errors/errors.ts';

/** Values canonical JSON can represent exactly. */
export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [k: string]: JsonValue };

/** Bound on nesting so hostile input cannot overflow the stack. */
const MAX_DEPTH = 128;

/**
 * Serializes `value` as RFC 8785 (JSON Canonicalization Scheme) text: object members sorted by their
 * UTF-16 code units, numbers in ECMAScript shortest round-trip form, no insignificant whitespace.
 *
 * Anything JSON cannot represent exactly is refused with `InvalidKeyInputError` naming the path:
 * `undefined`, functions, symbols, `NaN`, `±Infinity`, `bigint`, cyclic structures, strings with lone
 * surrogates, and objects that are not plain (Date, Map, class instances: convert them first).
 *
 * @example
 * ```ts
 * canonicalize({ b: 1, a: [true, 'x'] }) // '{"a":[true,"x"],"b":1}'
 * ```
 */
export function canonicalize(value: unknown): string {
  return write(value, { names: [], objects: [] });
}

/**
 * Where the writer is: the names (or indices) down to the current value and the objects around it. The
 * JSON Pointer of the path is built only for an error, so valid input pays nothing for it.
 */
interface Trail {
  readonly names: (string | number)[];
  readonly objects: object[];
}

function pointer(trail: Trail): string {
  return trail.names.map((name) => `/${String(name).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

function write(value: unknown, trail: Trail): string {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed())
        throw new InvalidKeyInputError('string has a lone surrogate', pointer(trail));
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value))
        throw new InvalidKeyInputError(`${value} has no JSON form`, pointer(trail));
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      return writeObject(value, trail);
    case 'bigint':
      throw new InvalidKeyInputError('bigint has no exact JSON form; pass it as a string', pointer(trail));
    default:
      throw new InvalidKeyInputError(`${typeof value} has no JSON form`, pointer(trail));
  }
}

function writeObject(value: object, trail: Trail): string {
  const { names, objects } = trail;
  if (objects.length >= MAX_DEPTH)
    throw new InvalidKeyInputError(`nesting deeper than ${MAX_DEPTH}`, pointer(trail));
  // The objects around this one (at most MAX_DEPTH): a cycle leads back to one of them.
  if (objects.includes(value)) throw new InvalidKeyInputError('cyclic structure', pointer(trail));
  objects.push(value);
  let out: string;
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (let i = 0; i < value.length; i++) {
      names.push(i);
      items.push(write(value[i], trail));
      names.pop();
    }
    out = `[${items.join(',')}]`;
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value.constructor as { name?: string } | undefined)?.name ?? 'object';
      throw new InvalidKeyInputError(
        `${name} is not a plain object; convert it to JSON data first`,
        pointer(trail),
      );
    }
    if (Object.getOwnPropertySymbols(value).length > 0) {
      throw new InvalidKeyInputError('symbol-keyed property has no JSON form', pointer(trail));
    }
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    const members: string[] = [];
    for (const name of keys) {
      names.push(name);
      if (!name.isWellFormed())
        throw new InvalidKeyInputError('property name has a lone surrogate', pointer(trail));
      members.push(`${JSON.stringify(name)}:${write(record[name], trail)}`);
      names.pop();
    }
    out = `{${members.join(',')}}`;
  }
  objects.pop();
  return out;
}
