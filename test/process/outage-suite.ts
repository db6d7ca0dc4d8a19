import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { providerKey, retrysafe, type AuditEntry, type IdempotencyRecord } from '../../src/index.ts';
import type { Store } from '../../src/stores/types.ts';
import { isReady, Workers, type WorkerProcess } from './harness.ts';
import { ledgerOperation } from './ledger-operation.ts';
import { LedgerServer, type LedgerRequest } from './ledger-server.ts';
import type { ErrorEvent, ResultEvent, WorkerConfig, WorkerEvent } from './protocol.ts';
import { openStore, type StoreSpec } from './store-spec.ts';

/** A store server owned by one test, which the test can crash and start again. */
export interface OutageServer {
  /** The store on this server, as the test and its workers open it. */
  readonly spec: StoreSpec;
  /** Ends the server the way a crash would (no clean shutdown); resolves once it is gone. */
  crash(): Promise<void>;
  /** Starts it again on the same data and port; resolves once it accepts connections. */
  restart(): Promise<void>;
  /** Ends it if it runs and removes its data, whatever state a failed test left it in. */
  dispose(): Promise<void>;
}

export interface OutageSuiteOptions {
  /** e.g. `PostgreSQL`. */
  readonly title: string;
  /** How the server is crashed, for the test's name. */
  readonly crash: string;
  /** False skips the suite (see `toolGate`). */
  readonly enabled: boolean;
  /**
   * Workers of the run that meets the crash give up after this many refusals (a store client that
   * takes seconds to give up on a dead server would otherwise drag the run out). Default: they try
   * every id.
   */
  readonly stopAfterUnavailable?: number;
  /** Starts a fresh, empty server for the test. */
  readonly start: () => Promise<OutageServer>;
}

const NAMESPACE = 'outage';
const WORKERS = 3;
const IDS_PER_WORKER = 60;
/** Each worker's request for the id at this position of its slice is held at the server across the crash. */
const HELD_AT = 8;
const CONCURRENCY = 4;
/** Per write: spreads the run over enough time that the crash lands in the middle of it. */
const LEDGER_DELAY_MS = 60;
/** Short, so that the records the crash left in flight have lapsed by the time the next run reads them. */
const OUTAGE_LEASE_MS = 1_000;
/** For the run after the restart: nobody must lose a lease to a busy machine. */
const LIVE_LEASE_MS = 5_000;
/**
 * Bound on a whole run of workers. Generous: with the server gone, a store client may take seconds
 * per command to give up, and a call in flight retries its settle a few times before returning.
 */
const RUN_TIMEOUT_MS = 40_000;
const TEST_TIMEOUT_MS = 120_000;

/**
 * Whether a suite that needs a local tool (a server binary) runs: without CI it skips with a warning
 * when the tool is missing; with `CI` set it fails, so a CI run can never pass by skipping.
 */
export function toolGate(what: string, problem: string | undefined): boolean {
  if (problem === undefined) return true;
  if (process.env['CI'] !== undefined && process.env['CI'] !== '') {
    throw new Error(`${what} cannot run: ${problem}; CI requires it (see .ci/run)`);
  }
  console.warn(`skipping ${what}: ${problem}`);
  return false;
}

/** Undefined when `command` is an executable on PATH, else why not. */
export async function missingCommand(command: string): Promise<string | undefined> {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const found = await access(join(dir, command), constants.X_OK).then(
      () => true,
      () => false,
    );
    if (found) return undefined;
  }
  return `${command} is not on PATH`;
}

const isResult = (event: WorkerEvent): event is ResultEvent => event.type === 'result';
const isError = (event: WorkerEvent): event is ErrorEvent => event.type === 'error';
const calledIds = (worker: WorkerProcess): string[] =>
  worker.events.flatMap((event) => (event.type === 'calling' ? [event.id] : []));
const decoded = (result: string | null): unknown =>
  result === null ? null : (JSON.parse(result) as { value: unknown }).value;
const eventsOf = (entries: readonly AuditEntry[]): string[] => entries.map((entry) => entry.event);

function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`no item at ${index}`);
  return item;
}

/** Runs every step even when one fails, then throws the first failure. */
async function allSteps(steps: readonly (() => Promise<unknown>)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) await step().catch((error: unknown) => failures.push(error));
  if (failures.length > 0) throw failures[0];
}

/**
 * The store server crashes while worker processes run an operation with a lookup over many ids:
 * nothing is called without a reservation the crash kept, ids tried during the outage fail closed,
 * and after the restart a second run (as a cron job would) leaves every id with exactly one effect,
 * counted on the ledger server.
 */
export function describeOutageSuite(options: OutageSuiteOptions): void {
  describe.skipIf(!options.enabled)(`${options.title} server outage while workers run`, () => {
    const workers = new Workers();
    let ledger: LedgerServer | undefined;
    let server: OutageServer | undefined;
    let store: Store | undefined;

    afterEach(async () => {
      await allSteps([
        () => workers.killAll(),
        async () => store?.close(),
        async () => ledger?.close(),
        async () => server?.dispose(),
      ]);
      store = undefined;
      ledger = undefined;
      server = undefined;
    });

    it(
      `the server crashes (${options.crash}) mid-run: no call without a reservation; after the restart every id has exactly one effect`,
      async () => {
        const theLedger = (ledger = await LedgerServer.start({ maxDelayMs: LEDGER_DELAY_MS }));
        const theServer = (server = await options.start());
        const { spec } = theServer;
        const spawn = (
          name: string,
          config: Partial<WorkerConfig> & Pick<WorkerConfig, 'ids'>,
        ): WorkerProcess =>
          workers.spawn(name, { store: spec, namespace: NAMESPACE, server: theLedger.url, ...config });
        // Migrate before any worker starts; this client is closed before the crash, a new one opened after.
        store = await openStore(spec);
        await store.migrate();
        await store.close();
        store = undefined;

        const ids = Array.from({ length: WORKERS * IDS_PER_WORKER }, (_, i) => `outage-${i}`);
        const slices = Array.from({ length: WORKERS }, (_, n) =>
          ids.slice(n * IDS_PER_WORKER, (n + 1) * IDS_PER_WORKER),
        );
        // One call per worker is in flight across the crash: held after its effect (the answer comes
        // while the store is down) or before it (the effect itself lands while the store is down).
        const holds = slices.map((slice, n) =>
          theLedger.hold(at(slice, HELD_AT), n % 2 === 0 ? 'after-effect' : 'before-effect'),
        );
        const heldIds = holds.map((hold) => hold.id);

        // Run 1: each worker has its own ids, so every id is tried exactly once before the restart.
        const before = slices.map((slice, n) =>
          spawn(`before-${n}`, {
            ids: slice,
            concurrency: CONCURRENCY,
            leaseMs: OUTAGE_LEASE_MS,
            lookup: true,
            waitForGo: true,
            ...(options.stopAfterUnavailable === undefined
              ? {}
              : { stopAfterUnavailable: options.stopAfterUnavailable }),
          }),
        );
        await Promise.all(before.map((worker) => worker.waitFor(isReady, 'ready')));
        for (const worker of before) worker.go();
        await Promise.all(
          holds.map((hold, n) =>
            at(before, n).whileAlive(hold.arrived, 'its held request reaching the server'),
          ),
        );
        await theServer.crash();
        for (const hold of holds) hold.release();
        await Promise.all(before.map((worker) => worker.finished(RUN_TIMEOUT_MS)));

        // Still down. Each id tried has one outcome: a value, or the fail-closed refusal.
        const outcomes = before.flatMap((worker) =>
          worker.events.filter((event) => isResult(event) || isError(event)),
        );
        const tried = outcomes.map((event) => event.id);
        expect(tried.filter((id, i) => tried.indexOf(id) !== i)).toEqual([]);
        if (options.stopAfterUnavailable === undefined) expect([...tried].sort()).toEqual([...ids].sort());
        const refusals = outcomes.filter(isError);
        expect(refusals.filter((event) => event.code !== 'RS_STORE_UNAVAILABLE')).toEqual([]);
        // The crash landed mid-run: some ids were tried while the store was down.
        expect(refusals.length).toBeGreaterThan(0);
        // Refused, or never taken because the run gave up.
        const refused = ids.filter((id) => !outcomes.some((event) => isResult(event) && event.id === id));

        // Fail closed: no refused id was called, by its worker or on the server.
        const called = before.flatMap(calledIds);
        expect(refused.filter((id) => called.includes(id) || theLedger.requests(id).length > 0)).toEqual([]);
        // And nothing reached the server that a worker did not call under a reservation: one request per call.
        expect(
          theLedger
            .requests()
            .map((request) => request.id)
            .sort(),
        ).toEqual([...called].sort());
        // The calls in flight across the crash finished; their values came back although unrecorded.
        for (const id of heldIds) {
          expect(outcomes.find((event) => event.id === id)).toMatchObject({
            type: 'result',
            value: theLedger.effects(id)[0],
          });
        }

        // The restart. Nothing has run against the store since the crash, so what it holds now is what
        // it had acknowledged before it: every request the server saw must be backed by a reservation.
        await theServer.restart();
        store = await openStore(spec);
        const rs = retrysafe({ store, namespace: NAMESPACE, migrate: false });
        const write = ledgerOperation(rs, { server: theLedger.url, lookup: true });
        const unbacked: {
          request: LedgerRequest;
          record: Partial<IdempotencyRecord> | null;
          audit: string[];
        }[] = [];
        for (const request of theLedger.requests()) {
          const key = write.keyOf(request.id);
          const record = await rs.get(key);
          const audit = await rs.audit(key);
          // Only a reservation (begin or reclaim) moves a record to an attempt, so a record at the call's
          // attempt under the call's provider key is the reservation that backed it.
          const backed =
            record !== undefined &&
            record.attempt === request.attempt &&
            providerKey(key, record.generation) === request.providerKey;
          if (!backed) {
            unbacked.push({
              request,
              record: record === undefined ? null : { state: record.state, attempt: record.attempt },
              audit: eventsOf(audit),
            });
          }
        }
        expect(unbacked).toEqual([]);
        // The held calls were never recorded: in flight, their leases lapsing, for the next run to settle.
        for (const id of heldIds) {
          expect(await rs.get(write.keyOf(id))).toMatchObject({ state: 'in_flight', attempt: 1 });
        }
        // A refused id has no record, or (the crash took a reservation whose answer it lost) an uncalled one.
        const refusedRecords = await Promise.all(refused.map((id) => rs.get(write.keyOf(id))));
        expect(
          refusedRecords.filter((record) => record !== undefined && record.state !== 'in_flight'),
        ).toEqual([]);

        // Run 2, as the next cron run would: every worker over every id, in different orders.
        const half = Math.floor(ids.length / 2);
        const orders = [ids, [...ids].reverse(), [...ids.slice(half), ...ids.slice(0, half)]];
        const after = orders.map((order, n) =>
          spawn(`after-${n}`, { ids: order, concurrency: CONCURRENCY, leaseMs: LIVE_LEASE_MS, lookup: true }),
        );
        await Promise.all(after.map((worker) => worker.finished(RUN_TIMEOUT_MS)));
        for (const worker of after) expect(worker.errors()).toEqual([]);

        // Counted on the server: exactly one request and one effect per id. None lost, none twice.
        const requestsPerId = new Map<string, number>();
        for (const request of theLedger.requests()) {
          requestsPerId.set(request.id, (requestsPerId.get(request.id) ?? 0) + 1);
        }
        expect(ids.filter((id) => requestsPerId.get(id) !== 1)).toEqual([]);
        expect(theLedger.requests()).toHaveLength(ids.length);
        expect(theLedger.effects()).toHaveLength(ids.length);
        const effects = new Map(theLedger.effects().map((effect) => [effect.id, effect]));

        // Every worker got the one effect's value for every id, and every record holds it.
        for (const worker of after) {
          const results = worker.results();
          expect(ids.filter((id) => results.get(id)?.value === undefined)).toEqual([]);
          for (const id of ids) expect(results.get(id)?.value).toEqual(effects.get(id));
        }
        for (const id of ids) {
          const record = await rs.get(write.keyOf(id));
          expect(record?.state).toBe('succeeded');
          expect(decoded(record?.result ?? null)).toEqual(effects.get(id));
          expect(record?.providerRef).toBe(effects.get(id)?.effectId);
        }
        // The held ids were settled by the lookup, once, and never called again.
        for (const id of heldIds) {
          const reconciled = after.filter((worker) => worker.results().get(id)?.reconciled === true);
          expect(reconciled).toHaveLength(1);
          expect(eventsOf(await rs.audit(write.keyOf(id)))).toEqual(['marked_unknown', 'resolved']);
        }
      },
      TEST_TIMEOUT_MS,
    );
  });
}
