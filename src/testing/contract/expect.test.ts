import { AssertionError } from 'node:assert';
import { describe, it, expect as vitestExpect } from 'vitest';
import { expect } from './expect.ts';

/** The shipped matchers agree with vitest's on what passes and what fails. */
const fails = (check: () => void): void => {
  vitestExpect(check).toThrow(AssertionError);
};

describe('contract expect', () => {
  it('toEqual is deep, ignores undefined properties and honours asymmetric matchers', () => {
    expect({ a: 1, b: [1, { c: 'x' }], d: undefined }).toEqual({ a: 1, b: [1, { c: 'x' }] });
    expect([{ id: 'o', n: 3, at: 5 }]).toEqual([expect.objectContaining({ id: 'o', n: 3 })]);
    expect(12).toEqual(expect.any(Number));
    fails(() => {
      expect({ a: 1 }).toEqual({ a: 1, b: 2 });
    });
    fails(() => {
      expect([1, 2]).toEqual([1, 2, 3]);
    });
    fails(() => {
      expect('12').toEqual(expect.any(Number));
    });
    fails(() => {
      expect({ a: 1 }).not.toEqual({ a: 1 });
    });
  });

  it('toMatchObject checks the expected properties only, recursively', () => {
    expect({ a: 1, b: { c: 2, d: 3 }, e: 4 }).toMatchObject({ b: { c: 2 } });
    fails(() => {
      expect({ a: 1, b: { c: 2 } }).toMatchObject({ b: { c: 3 } });
    });
    fails(() => {
      expect({ a: 1 }).toMatchObject({ z: undefined });
    });
  });

  it('the scalar matchers pass and fail as vitest does, with the message in front', () => {
    expect(NaN).toBe(NaN);
    expect(null).toBeNull();
    expect(undefined).toBeUndefined();
    expect(2).toBeGreaterThan(1);
    expect(2).toBeGreaterThanOrEqual(2);
    expect(2).toBeLessThanOrEqual(2);
    expect([1, 2]).toContain(2);
    expect('abc').toContain('b');
    expect([{ a: 1 }]).toContainEqual({ a: 1 });
    expect([1, 2]).toHaveLength(2);
    expect(() => JSON.parse('{') as unknown).toThrow();
    expect(() => 1).not.toThrow();
    expect('lease lapsed').toMatch(/^lease/);
    fails(() => {
      expect('lease lapsed').toMatch(/^lapsed/);
    });
    fails(() => {
      expect(1).toBe(2);
    });
    fails(() => {
      expect(1).not.toBe(1);
    });
    fails(() => {
      expect(0).not.toBeNull();
      expect(null).not.toBeNull();
    });
    fails(() => {
      expect(1).toBeGreaterThan(1);
    });
    fails(() => {
      expect([1]).toContain(2);
    });
    fails(() => {
      expect([1]).toHaveLength(2);
    });
    fails(() => {
      expect(() => 1).toThrow();
    });
    vitestExpect(() => {
      expect(1, 'settle applies').toBe(2);
    }).toThrow(/^settle applies: expected 1 to be 2$/);
  });
});
