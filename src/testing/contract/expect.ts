import { AssertionError } from 'node:assert';
import { inspect } from 'node:util';

/**
 * The few matchers the store contract uses, with vitest's meaning, built on `node:assert`'s error so any
 * runner (vitest, `node:test`, mocha) reports a failure the same way. The suite ships inside the package,
 * so it cannot depend on a test framework's own `expect`.
 */
export interface Matchers {
  /** `Object.is`. */
  toBe(expected: unknown): void;
  /** Deep equality; properties that are `undefined` count as absent; asymmetric matchers allowed. */
  toEqual(expected: unknown): void;
  /** Every property of `expected` is deep-equal in the value (recursively); others are ignored. */
  toMatchObject(expected: object): void;
  toBeNull(): void;
  toBeUndefined(): void;
  toBeGreaterThan(expected: number): void;
  toBeGreaterThanOrEqual(expected: number): void;
  toBeLessThanOrEqual(expected: number): void;
  /** An array holds the item (`===`), or a string the substring. */
  toContain(expected: unknown): void;
  /** An array holds an item deep-equal to `expected`. */
  toContainEqual(expected: unknown): void;
  toHaveLength(expected: number): void;
  /** A string matches the regular expression (or contains the string). */
  toMatch(expected: RegExp | string): void;
  /** The value is a function that throws when called. */
  toThrow(): void;
}

export interface Expect {
  /** `message` (optional) leads the failure's text, as in vitest. */
  (actual: unknown, message?: string): Matchers & { readonly not: Matchers };
  /** Matches any value made by the constructor (`Number` and `String` match primitives too). */
  any(type: abstract new (...args: never[]) => unknown): unknown;
  /** Matches an object that has at least these properties. */
  objectContaining(expected: Record<string, unknown>): unknown;
}

abstract class Asymmetric {
  abstract matches(actual: unknown): boolean;
  abstract describe(): string;
  [inspect.custom](): string {
    return this.describe();
  }
}

class AnyOf extends Asymmetric {
  readonly #type: abstract new (...args: never[]) => unknown;
  constructor(type: abstract new (...args: never[]) => unknown) {
    super();
    this.#type = type;
  }
  matches(actual: unknown): boolean {
    const type: unknown = this.#type;
    if (type === Number) return typeof actual === 'number' || actual instanceof Number;
    if (type === String) return typeof actual === 'string' || actual instanceof String;
    if (type === Boolean) return typeof actual === 'boolean' || actual instanceof Boolean;
    return actual instanceof this.#type;
  }
  describe(): string {
    return `Any<${this.#type.name}>`;
  }
}

class ObjectContaining extends Asymmetric {
  readonly #expected: Record<string, unknown>;
  constructor(expected: Record<string, unknown>) {
    super();
    this.#expected = expected;
  }
  matches(actual: unknown): boolean {
    return isObject(actual) && Object.entries(this.#expected).every(([k, v]) => equals(actual[k], v));
  }
  describe(): string {
    return `ObjectContaining ${inspect(this.#expected)}`;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function definedKeys(value: Record<string, unknown>): string[] {
  return Object.keys(value).filter((key) => value[key] !== undefined);
}

/** vitest's `toEqual`: recursive, `undefined` properties ignored, asymmetric matchers honoured. */
function equals(actual: unknown, expected: unknown): boolean {
  if (expected instanceof Asymmetric) return expected.matches(actual);
  if (actual instanceof Asymmetric) return actual.matches(expected);
  if (Object.is(actual, expected)) return true;
  if (!isObject(actual) || !isObject(expected)) return false;
  if (Array.isArray(actual) !== Array.isArray(expected)) return false;
  if (Array.isArray(actual) && Array.isArray(expected)) {
    return actual.length === expected.length && actual.every((item, i) => equals(item, expected[i]));
  }
  const keys = definedKeys(expected);
  const actualKeys = definedKeys(actual);
  return keys.length === actualKeys.length && keys.every((key) => equals(actual[key], expected[key]));
}

/** vitest's `toMatchObject`: expected's properties, recursively; arrays element by element. */
function matchesObject(actual: unknown, expected: unknown): boolean {
  if (expected instanceof Asymmetric) return expected.matches(actual);
  if (!isObject(expected)) return equals(actual, expected);
  if (!isObject(actual)) return false;
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((item, i) => matchesObject(actual[i], item))
    );
  }
  return Object.keys(expected).every((key) => key in actual && matchesObject(actual[key], expected[key]));
}

function matchers(actual: unknown, negated: boolean, label: string | undefined): Matchers {
  const check = (pass: boolean, what: string, ...expected: unknown[]): void => {
    if (pass !== negated) return;
    const message =
      (label === undefined ? '' : `${label}: `) +
      `expected ${inspect(actual, { depth: 6 })} ${negated ? 'not ' : ''}${what}` +
      (expected.length > 0 ? ` ${inspect(expected[0], { depth: 6 })}` : '');
    throw new AssertionError({ message, actual, expected: expected[0], operator: what });
  };
  const number = (): number => {
    if (typeof actual !== 'number' && typeof actual !== 'bigint') {
      throw new AssertionError({ message: `expected a number, got ${inspect(actual)}`, actual });
    }
    return Number(actual);
  };
  return {
    toBe: (expected) => {
      check(Object.is(actual, expected), 'to be', expected);
    },
    toEqual: (expected) => {
      check(equals(actual, expected), 'to equal', expected);
    },
    toMatchObject: (expected) => {
      check(matchesObject(actual, expected), 'to match object', expected);
    },
    toBeNull: () => {
      check(actual === null, 'to be null');
    },
    toBeUndefined: () => {
      check(actual === undefined, 'to be undefined');
    },
    toBeGreaterThan: (expected) => {
      check(number() > expected, 'to be greater than', expected);
    },
    toBeGreaterThanOrEqual: (expected) => {
      check(number() >= expected, 'to be greater than or equal to', expected);
    },
    toBeLessThanOrEqual: (expected) => {
      check(number() <= expected, 'to be less than or equal to', expected);
    },
    toContain: (expected) => {
      const pass =
        typeof actual === 'string'
          ? typeof expected === 'string' && actual.includes(expected)
          : Array.isArray(actual) && actual.includes(expected);
      check(pass, 'to contain', expected);
    },
    toContainEqual: (expected) => {
      check(
        Array.isArray(actual) && actual.some((item) => equals(item, expected)),
        'to contain equal',
        expected,
      );
    },
    toHaveLength: (expected) => {
      const length: unknown = isObject(actual) || typeof actual === 'string' ? actual.length : undefined;
      check(length === expected, 'to have length', expected);
    },
    toMatch: (expected) => {
      const pass =
        typeof actual === 'string' &&
        (typeof expected === 'string' ? actual.includes(expected) : expected.test(actual));
      check(pass, 'to match', expected);
    },
    toThrow: () => {
      if (typeof actual !== 'function') {
        throw new AssertionError({ message: `expected a function, got ${inspect(actual)}`, actual });
      }
      let threw = false;
      try {
        (actual as () => unknown)();
      } catch {
        threw = true;
      }
      check(threw, 'to throw');
    },
  };
}

/** The contract's `expect`: `expect(value).toEqual(...)`, `expect(value).not.toBe(...)`. */
export const expect: Expect = Object.assign(
  (actual: unknown, message?: string) =>
    Object.assign(matchers(actual, false, message), { not: matchers(actual, true, message) }),
  {
    any: (type: abstract new (...args: never[]) => unknown): unknown => new AnyOf(type),
    objectContaining: (expected: Record<string, unknown>): unknown => new ObjectContaining(expected),
  },
);
