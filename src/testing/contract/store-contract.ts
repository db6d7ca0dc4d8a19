import type { Store } from '../../stores/types.ts';
import { fencingContract } from './fencing.ts';
import { lifecycleContract } from './lifecycle.ts';
import { listingContract } from './listing.ts';
import { modelContract } from './model.ts';
import { notesContract } from './notes.ts';
import { overridesContract } from './overrides.ts';
import { retentionContract } from './retention.ts';
import { registerWith, type TestRunner } from './runner.ts';
import type { ContractContext } from './support.ts';

export interface StoreContractOptions {
  /** Shown in the suite title: `store contract: <name>`. */
  readonly name: string;
  /**
   * The test runner's functions: `{ describe, it, beforeAll, afterAll }` from vitest, or from `node:test`
   * `{ describe, it, beforeAll: before, afterAll: after }`.
   */
  readonly runner: TestRunner;
  /** Creates the store under test, once for the whole suite. The suite runs `migrate()` itself (twice). */
  readonly create: () => Promise<Store>;
  /**
   * Tears the store down after the suite (drop a schema, remove a file). When given it replaces the
   * default `store.close()`, so it must close the store itself.
   */
  readonly destroy?: (store: Store) => Promise<void>;
}

/**
 * Registers the behaviour every `Store` must show, as one `describe` block of the runner given (vitest or
 * `node:test`). The three stores retrysafe ships run exactly this suite. Each test works under
 * its own random key prefix (and operation name), so several suites may share one database or server.
 * Time enters only as short real leases and TTLs with sleeps well past them; nothing asserts on timing.
 *
 * Conventions the suite pins down beyond the `Store` TSDoc:
 * - The fence is (attempt, token) on an `in_flight` record; a holder whose lease lapsed untouched may
 *   still heartbeat and settle. A lease is lapsed when `now >= leaseUntil` (as in `decide`).
 * - `markUnknown`, `reclaim` and `resolve` apply to `unknown` or lapsed `in_flight` at exactly `attempt`
 *   (`markUnknown` only to lapsed `in_flight`); anything else is `{ ok: false, record }`.
 * - Audit events: `reserved` (begin, attempt = new attempt; plus `override_used` when it used an
 *   override), `settled` (every accepted holder settle, `unknown` included), `marked_unknown`,
 *   `reclaimed` (attempt = new attempt), `resolved` (actor = resolver, reason in `detail`), `late_write`
 *   (attempt = the refused lease's, the settlement's state, result and providerRef in `detail`, also for
 *   a key that has no record), `override_requested` / `override_approved` (actor = that identity),
 *   `still_unknown` (`noteUnknown`: actor = who asked, `{ action, answer, reason }` in `detail`).
 *   Heartbeats are not audited. The executor's own events use actor `executor`.
 * - `list({ updatedBefore })` is strict (`updatedAt < updatedBefore`); `states: []` matches nothing.
 * - gc compaction sets `result` to null and keeps every other field (reason, providerRef, fingerprint).
 *
 * @example
 * ```ts
 * // my-store.contract.test.ts, under vitest
 * import { afterAll, beforeAll, describe, it } from 'vitest';
 * import { runStoreContract } from 'retrysafe/testing';
 *
 * runStoreContract({
 *   name: 'my-store',
 *   runner: { describe, it, beforeAll, afterAll },
 *   create: async () => myStore({ url: process.env.MY_STORE_URL }),
 * });
 * ```
 */
export function runStoreContract(options: StoreContractOptions): void {
  const { runner } = options;
  runner.describe(`store contract: ${options.name}`, () => {
    let store: Store | undefined;

    runner.beforeAll(async () => {
      store = await options.create();
      // Twice: migrate must be idempotent.
      await store.migrate();
      await store.migrate();
    });

    runner.afterAll(async () => {
      if (store === undefined) return;
      if (options.destroy === undefined) await store.close();
      else await options.destroy(store);
    });

    const context: ContractContext = {
      store: () => {
        if (store === undefined) throw new Error('the store was not created');
        return store;
      },
    };
    registerWith(runner, () => {
      lifecycleContract(context);
      fencingContract(context);
      retentionContract(context);
      overridesContract(context);
      listingContract(context);
      notesContract(context);
      modelContract(context);
    });
  });
}
