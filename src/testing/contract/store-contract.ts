import type { Store } from '../../stores/types.ts';
import { fencingContract } from './fencing.ts';
import { lapseContract } from './lapse.ts';
import { lifecycleContract } from './lifecycle.ts';
import { countingContract } from './counting.ts';
import { listingContract } from './listing.ts';
import { modelContract } from './model.ts';
import { notesContract } from './notes.ts';
import { overridesContract } from './overrides.ts';
import { providerKeysContract } from './provider-keys.ts';
import { refusalsContract } from './refusals.ts';
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
  /**
   * Test hook: sets the lease end of `key`'s record to null in the backing storage, behind the store's
   * back, as a damaged or hand-edited row would hold it. Given, the suite checks that an in-flight record
   * without a lease end reads as lapsed (`isLapsed`) on every transition, the model test included. Leave
   * it out for a store whose schema cannot hold such a record.
   */
  readonly eraseLeaseEnd?: (key: string) => Promise<void>;
}

/**
 * Registers the behaviour every `Store` must show, as one `describe` block of the runner given (vitest or
 * `node:test`). The three stores retrysafe ships run exactly this suite. Each test works under
 * its own random key prefix (and operation name), so several suites may share one database or server.
 * Time enters only as short real leases and TTLs with sleeps well past them; nothing asserts on timing.
 *
 * Conventions the suite pins down beyond the `Store` TSDoc:
 * - The fence is (attempt, token) on an `in_flight` record; a holder whose lease lapsed untouched may
 *   still heartbeat and settle. A lease is lapsed when `now >= leaseUntil`, or when an in-flight record
 *   has no lease end at all (`isLapsed` in src/machine/lapse.ts, which `decide` reads too).
 * - `markUnknown`, `reclaim` and `resolve` apply to `unknown` or lapsed `in_flight` at exactly `attempt`
 *   (`markUnknown` only to lapsed `in_flight`); anything else is `{ ok: false, record }`.
 * - Override refusals are `{ ok: false, refusal, reason }`: `refusal` a code and its fields (the machine's
 *   rule, src/machine/overrides.ts), `reason` its words (`refusalText`, the same on every store).
 * - Audit events: the routine reserve and settle write none (the record is their trail); `override_used`
 *   (a begin that used an override, attempt = new attempt), `marked_unknown`,
 *   `reclaimed` (attempt = new attempt), `rekeyed` (a reclaim or a released resolution that starts a new
 *   generation, with `fromGeneration`, `toGeneration` and the caller's `evidence` in `detail`),
 *   `resolved` (actor = resolver, reason in `detail`), `late_write`
 *   (attempt = the refused lease's, the settlement's state, result and providerRef in `detail`, also for
 *   a key that has no record), `override_requested` / `override_approved` (actor = that identity),
 *   `resolution_requested` (actor = the requester),
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
      eraseLeaseEnd: options.eraseLeaseEnd,
    };
    registerWith(runner, () => {
      lifecycleContract(context);
      fencingContract(context);
      lapseContract(context);
      retentionContract(context);
      overridesContract(context);
      refusalsContract(context);
      providerKeysContract(context);
      listingContract(context);
      countingContract(context);
      notesContract(context);
      modelContract(context);
    });
  });
}
