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
  return write(value, '', new Set(), 0);
}

function write(value: unknown, path: string, seen: Set<object>, depth: number): string {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw new InvalidKeyInputError('string has a lone surrogate', path);
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidKeyInputError(`${value} has no JSON form`, path);
      // JSON.stringify uses Number.prototype.toString, which is the RFC 8785 number form (and -0 -> 0).
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      return writeObject(value, path, seen, depth);
    case 'bigint':
      throw new InvalidKeyInputError('bigint has no exact JSON form; pass it as a string', path);
    default:
      throw new InvalidKeyInputError(`${typeof value} has no JSON form`, path);
  }
}

function writeObject(value: object, path: string, seen: Set<object>, depth: number): string {
  if (depth >= MAX_DEPTH) throw new InvalidKeyInputError(`nesting deeper than ${MAX_DEPTH}`, path);
  if (seen.has(value)) throw new InvalidKeyInputError('cyclic structure', path);
  seen.add(value);
  let out: string;
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (let i = 0; i < value.length; i++) {
      // Holes in sparse arrays are undefined and refused like any other undefined.
      items.push(write(value[i], `${path}/${i}`, seen, depth + 1));
    }
    out = `[${items.join(',')}]`;
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value.constructor as { name?: string } | undefined)?.name ?? 'object';
      throw new InvalidKeyInputError(`${name} is not a plain object; convert it to JSON data first`, path);
    }
    if (Object.getOwnPropertySymbols(value).length > 0) {
      throw new InvalidKeyInputError('symbol-keyed property has no JSON form', path);
    }
    const record = value as Record<string, unknown>;
    // Default sort compares UTF-16 code units, which is exactly what RFC 8785 section 3.2.3 asks for.
    const names = Object.keys(record).sort();
    const members: string[] = [];
    for (const name of names) {
      const memberPath = `${path}/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      if (!name.isWellFormed())
        throw new InvalidKeyInputError('property name has a lone surrogate', memberPath);
      members.push(`${JSON.stringify(name)}:${write(record[name], memberPath, seen, depth + 1)}`);
    }
    out = `{${members.join(',')}}`;
  }
  seen.delete(value);
  return out;
}
