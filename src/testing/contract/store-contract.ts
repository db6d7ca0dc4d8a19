import { afterAll, beforeAll, describe } from 'vitest';
import type { Store } from '../../stores/types.ts';
import { fencingContract } from './fencing.ts';
import { lifecycleContract } from './lifecycle.ts';
import { listingContract } from './listing.ts';
import { modelContract } from './model.ts';
import { overridesContract } from './overrides.ts';
import { retentionContract } from './retention.ts';
import type { ContractContext } from './support.ts';

export interface StoreContractOptions {
  /** Shown in the suite title: `store contract: <name>`. */
  readonly name: string;
  /** Creates the store under test, once for the whole suite. The suite runs `migrate()` itself (twice). */
  readonly create: () => Promise<Store>;
  /**
   * Tears the store down after the suite (drop a schema, remove a file). When given it replaces the
   * default `store.close()`, so it must close the store itself.
   */
  readonly destroy?: (store: Store) => Promise<void>;
}

/**
 * Registers the behaviour every `Store` must show, as one vitest `describe` block. Each test works under
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
 *   a key that has no record), `override_requested` / `override_approved` (actor = that identity).
 *   Heartbeats are not audited. The executor's own events use actor `executor`.
 * - `list({ updatedBefore })` is strict (`updatedAt < updatedBefore`); `states: []` matches nothing.
 * - gc compaction sets `result` to null and keeps every other field (reason, providerRef, fingerprint).
 *
 * @example
 * ```ts
 * runStoreContract({
 *   name: 'sqlite',
 *   create: async () => sqliteStore({ path: join(dir, 'contract.db') }),
 * });
 * ```
 */
export function runStoreContract(options: StoreContractOptions): void {
  describe(`store contract: ${options.name}`, () => {
    let store: Store | undefined;

    beforeAll(async () => {
      store = await options.create();
      // Twice: migrate must be idempotent.
      await store.migrate();
      await store.migrate();
    });

    afterAll(async () => {
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
    lifecycleContract(context);
    fencingContract(context);
    retentionContract(context);
    overridesContract(context);
    listingContract(context);
    modelContract(context);
  });
}
