/**
 * The test runner the contract registers its tests with: vitest's or `node:test`'s functions (any
 * runner with `describe`, `it` and suite-wide hooks). The sections call `it` from here, so they stay
 * plain functions and the suite ships without depending on one framework.
 */
export interface TestRunner {
  readonly describe: (name: string, suite: () => void) => unknown;
  readonly it: (name: string, test: () => Promise<void>) => unknown;
  /** Runs once before the suite's tests (`node:test`: `before`). */
  readonly beforeAll: (hook: () => Promise<void>) => unknown;
  /** Runs once after the suite's tests (`node:test`: `after`). */
  readonly afterAll: (hook: () => Promise<void>) => unknown;
}

let current: TestRunner | undefined;

/** Registers the tests `register` declares with `runner` (registration is synchronous). */
export function registerWith(runner: TestRunner, register: () => void): void {
  const previous = current;
  current = runner;
  try {
    register();
  } finally {
    current = previous;
  }
}

/** Declares one contract test with the runner the suite is being registered with. */
export function it(name: string, test: () => Promise<void>): void {
  if (current === undefined) throw new Error('contract tests are registered only inside runStoreContract');
  current.it(name, test);
}
