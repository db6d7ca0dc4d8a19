/**
 * Testing helpers (`retrysafe/testing`): the store contract suite that every retrysafe store passes,
 * shipped so that a store you write (MySQL, DynamoDB, MongoDB...) is held to exactly the same tests.
 * Runs under vitest or `node:test`; needs `fast-check` (the suite's model-based test) installed.
 *
 * @example
 * ```ts
 * // under node:test: node --test my-store.contract.test.js
 * import { after, before, describe, it } from 'node:test';
 * import { runStoreContract } from 'retrysafe/testing';
 *
 * runStoreContract({
 *   name: 'my-store',
 *   runner: { describe, it, beforeAll: before, afterAll: after },
 *   create: async () => myStore(),
 * });
 * ```
 */
export { runStoreContract, type StoreContractOptions } from './contract/store-contract.ts';
export type { TestRunner } from './contract/runner.ts';
export { expect, type Expect, type Matchers } from './contract/expect.ts';
