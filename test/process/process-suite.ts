import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { retrysafe, type AuditEntry, type Operation, type RetrySafe } from '../../src/index.ts';
import type { Store } from '../../src/stores/types.ts';
import { isReady, Workers, type WorkerProcess } from './harness.ts';
import { ledgerOperation } from './ledger-operation.ts';
import { LedgerServer, type LedgerEffect } from './ledger-server.ts';
import type { WorkerConfig, WorkerEvent } from './protocol.ts';
import { openStore, type StoreSpec } from './store-spec.ts';

export interface ProcessSuiteOptions {
  /** e.g. `SQLite`. */
  readonly title: string;
  /** False skips the suite (a server-backed store whose server is down, outside CI). */
  readonly enabled: boolean;
  /** A fresh, empty store for one test. */
  readonly newSpec: () => StoreSpec;
  /** Removes what the test's store left behind. */
  readonly dispose: (spec: StoreSpec) => Promise<void>;
  /** The race: this many processes on this many shared keys. */
  readonly race: { readonly processes: number; readonly keys: number };
}

/** Short enough that a lapsed lease comes quickly, long enough that a live holder renews in time. */
const SHORT_LEASE_MS = 300;
/** For a process that must keep its lease to the end: a busy machine may stall it for a moment. */
const LIVE_LEASE_MS = 5000;
const NAMESPACE = 'proc';

const isCalling = (event: WorkerEvent): boolean => event.type === 'calling';
const decoded = (result: string | null): unknown =>
  result === null ? null : (JSON.parse(result) as { value: unknown }).value;
const eventsOf = (entries: readonly AuditEntry[]): string[] => entries.map((entry) => entry.event);

/**
 * The crash and race scenarios, with real worker processes and real signals, against any store a
 * spec can name. Effects are counted on the ledger server only.
 */
export function describeProcessSuite(options: ProcessSuiteOptions): void {
  describe.skipIf(!options.enabled)(`${options.title} store across processes`, () => {
    const workers = new Workers();
    let ledger: LedgerServer;
    let spec: StoreSpec;
    let store: Store;
    let rs: RetrySafe;
    /** The test's own view of the operation: derives the same keys as the workers. */
    let write: Operation<string, LedgerEffect>;

    beforeEach(async () => {
      ledger = await LedgerServer.start({ maxDelayMs: 2 });
      spec = options.newSpec();
      store = await openStore(spec);
      rs = retrysafe({ store, namespace: NAMESPACE });
      write = ledgerOperation(rs, { server: ledger.url, lookup: false });
      // Migrate before any worker starts, so the scenarios race on keys rather than on schema creation.
      await store.migrate();
    });

    afterEach(async () => {
      await workers.killAll();
      await ledger.close();
      await store.close();
      await options.dispose(spec);
    });

    const spawn = (name: string, config: Partial<WorkerConfig> & Pick<WorkerConfig, 'ids'>): WorkerProcess =>
      workers.spawn(name, { store: spec, namespace: NAMESPACE, server: ledger.url, ...config });

    const { processes, keys } = options.race;
    it(`${processes} processes race on the same ${keys} keys: every logical operation runs exactly once`, async () => {
      const ids = Array.from({ length: keys }, (_, i) => `race-${i}`);
      // Half go forwards and half backwards: every key is contended, from both ends at once.
      const racers = Array.from({ length: processes }, (_, n) =>
        spawn(`racer-${n}`, {
          ids: n % 2 === 0 ? ids : [...ids].reverse(),
          concurrency: 8,
          waitForGo: true,
        }),
      );
      await Promise.all(racers.map((racer) => racer.waitFor(isReady, 'ready')));
      for (const racer of racers) racer.go();
      await Promise.all(racers.map((racer) => racer.finished(45_000)));

      // Counted on the server: exactly one request, hence one effect, per logical operation.
      const effects = new Map(ledger.effects().map((effect) => [effect.id, effect]));
      const requestsPerId = new Map<string, number>();
      for (const request of ledger.requests()) {
        requestsPerId.set(request.id, (requestsPerId.get(request.id) ?? 0) + 1);
      }
      expect([...requestsPerId].filter(([, count]) => count !== 1)).toEqual([]);
      expect(ledger.requests()).toHaveLength(keys);
      expect(ledger.effects()).toHaveLength(keys);

      // Every process ends with the one effect's value for every id, without a single error.
      const performers = new Map<string, string[]>();
      for (const racer of racers) {
        expect(racer.errors()).toEqual([]);
        const results = racer.results();
        expect(results.size).toBe(keys);
        for (const id of ids) {
          const result = results.get(id);
          expect(result?.value).toEqual(effects.get(id));
          expect(result?.attempt).toBe(1);
          if (result?.replayed === false) performers.set(id, [...(performers.get(id) ?? []), racer.name]);
        }
      }
      // Exactly one process performed each operation; all the others replayed its result.
      expect(ids.filter((id) => performers.get(id)?.length !== 1)).toEqual([]);

      for (const id of ids) {
        const record = await rs.get(write.keyOf(id));
        expect(record?.state).toBe('succeeded');
        expect(decoded(record?.result ?? null)).toEqual(effects.get(id));
      }
    });

    it('a process killed after the call succeeded, before recording it: a lookup reconciles, nothing is sent again', async () => {
      const id = 'crash-after-call';
      const hold = ledger.hold(id, 'after-effect');
      const victim = spawn('victim', { ids: [id], leaseMs: SHORT_LEASE_MS, lookup: true });
      await victim.whileAlive(hold.arrived, 'its request reaching the server');
      expect(await victim.kill9()).toMatchObject({ signal: 'SIGKILL' });
      // The effect happened; the victim never heard of it, so nothing was recorded.
      expect(ledger.effects(id)).toHaveLength(1);
      const [effect] = ledger.effects(id);
      expect(await rs.get(write.keyOf(id))).toMatchObject({ state: 'in_flight', attempt: 1 });

      // A new process, after the victim's lease lapsed: it asks the server instead of calling again.
      const next = spawn('next', { ids: [id], leaseMs: SHORT_LEASE_MS, lookup: true });
      await next.finished();
      expect(next.errors()).toEqual([]);
      expect(next.results().get(id)).toMatchObject({
        value: effect,
        reconciled: true,
        replayed: true,
        attempt: 1,
      });
      expect(next.events.filter(isCalling)).toEqual([]);
      expect(ledger.requests(id)).toHaveLength(1);
      expect(ledger.effects(id)).toEqual([effect]);

      const record = await rs.get(write.keyOf(id));
      expect(record).toMatchObject({ state: 'succeeded', attempt: 1, providerRef: effect?.effectId });
      expect(decoded(record?.result ?? null)).toEqual(effect);
      expect(eventsOf(await rs.audit(write.keyOf(id)))).toEqual(
        expect.arrayContaining(['marked_unknown', 'resolved']),
      );
    });

    it('a process killed after the call succeeded, before recording it: without a lookup the outcome is unknown and blocks', async () => {
      const id = 'crash-no-lookup';
      const hold = ledger.hold(id, 'after-effect');
      const victim = spawn('victim', { ids: [id], leaseMs: SHORT_LEASE_MS });
      await victim.whileAlive(hold.arrived, 'its request reaching the server');
      expect(await victim.kill9()).toMatchObject({ signal: 'SIGKILL' });
      expect(ledger.effects(id)).toHaveLength(1);
      const [effect] = ledger.effects(id);

      // Twice: the lapsed lease becomes unknown, and unknown keeps blocking; neither run calls.
      for (const name of ['blind-1', 'blind-2']) {
        const blind = spawn(name, { ids: [id], leaseMs: SHORT_LEASE_MS, lookup: false });
        await blind.finished();
        expect(blind.results().size).toBe(0);
        expect(blind.errors()).toEqual([
          expect.objectContaining({
            id,
            code: 'RS_OUTCOME_UNKNOWN',
            name: 'OutcomeUnknownError',
            record: { state: 'unknown', attempt: 1, generation: 1 },
          }),
        ]);
        expect(blind.events.filter(isCalling)).toEqual([]);
        expect(ledger.requests(id)).toHaveLength(1);
      }
      expect(await rs.get(write.keyOf(id))).toMatchObject({ state: 'unknown', attempt: 1 });

      // A run with a lookup settles the unknown record from the server's effect, still without calling.
      const reconciler = spawn('reconciler', { ids: [id], leaseMs: SHORT_LEASE_MS, lookup: true });
      await reconciler.finished();
      expect(reconciler.results().get(id)).toMatchObject({ value: effect, reconciled: true, attempt: 1 });
      expect(reconciler.events.filter(isCalling)).toEqual([]);
      expect(ledger.requests(id)).toHaveLength(1);
      expect(await rs.get(write.keyOf(id))).toMatchObject({ state: 'succeeded', attempt: 1 });
    });

    it('a process paused past its lease: a successor takes over, the stale settle is refused and kept as evidence', async () => {
      const id = 'paused-holder';
      // Held before the effect: while the holder is frozen, a lookup truthfully finds nothing.
      const hold = ledger.hold(id, 'before-effect');
      const sleeper = spawn('sleeper', { ids: [id], leaseMs: SHORT_LEASE_MS, lookup: true });
      await sleeper.whileAlive(hold.arrived, 'its request reaching the server');
      sleeper.pause();

      // The successor waits for the frozen holder's lease to lapse, finds no effect, and performs attempt 2.
      const successor = spawn('successor', { ids: [id], leaseMs: LIVE_LEASE_MS, lookup: true });
      await successor.finished();
      expect(successor.errors()).toEqual([]);
      const [effect] = ledger.effects(id);
      expect(effect).toMatchObject({ attempt: 2 });
      expect(successor.results().get(id)).toMatchObject({
        value: effect,
        replayed: false,
        reconciled: false,
        attempt: 2,
      });

      // Wake the stale holder and let its request through: the server answers it under the same provider key.
      sleeper.resume();
      hold.release();
      await sleeper.finished();
      expect(sleeper.results().size).toBe(0);
      expect(sleeper.errors()).toEqual([
        expect.objectContaining({
          id,
          code: 'RS_LEASE_LOST',
          record: { state: 'succeeded', attempt: 2, generation: 1 },
        }),
      ]);
      expect(ledger.requests(id).map((request) => request.attempt)).toEqual([1, 2]);
      expect(ledger.effects(id)).toEqual([effect]);

      // The record keeps the new attempt's result; the stale holder's settlement is in the audit log.
      const key = write.keyOf(id);
      const record = await rs.get(key);
      expect(record).toMatchObject({ state: 'succeeded', attempt: 2, providerRef: effect?.effectId });
      expect(decoded(record?.result ?? null)).toEqual(effect);
      const audit = await rs.audit(key);
      expect(eventsOf(audit)).toEqual(expect.arrayContaining(['marked_unknown', 'reclaimed']));
      const late = audit.filter((entry) => entry.event === 'late_write');
      expect(late).toHaveLength(1);
      expect(late[0]?.attempt).toBe(1);
      // The whole refused settlement: the answer the stale holder got is kept, not thrown away.
      const detail = JSON.parse(late[0]?.detail ?? '{}') as { state?: unknown; result?: unknown };
      expect(detail.state).toBe('succeeded');
      expect(decoded(typeof detail.result === 'string' ? detail.result : null)).toEqual(effect);
    });
  });
}
