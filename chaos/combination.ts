import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { countLedger, type Figures } from './check.ts';
import type { ImplName, StoreName } from './impls/types.ts';
import { WorkerPool } from './pool.ts';
import { strictMode, type ProviderMode } from './provider/modes.ts';
import { startProvider } from './provider/process.ts';
import { auditRetrysafe } from './retrysafe-audit.ts';
import { generateScenario, scenarioDigest, type Scenario, type Trigger } from './scenario.ts';
import { startStore, type StoreEnvironment } from './store-servers.ts';
import type { WorkerConfig, WorkerEvent } from './worker/protocol.ts';

export interface CombinationOptions {
  readonly impl: ImplName;
  /** `none` for plain retries (no store). */
  readonly store: StoreName | 'none';
  readonly ops: number;
  readonly workers: number;
  readonly seed: number;
  /** Deliveries one worker runs at once. @default 4 */
  readonly concurrency?: number;
  /** Lenient provider honours `Idempotency-Key`. @default false */
  readonly nativeKeys?: boolean;
  /** How the provider treats idempotency keys (modes.ts). @default 'lenient' */
  readonly providerMode?: ProviderMode;
  /**
   * Replicated stores: run without the failover protection (accepted explicitly), so the run shows the
   * duplicates it prevents. The row's store is then `<store>-unprotected`. @default false
   */
  readonly unprotected?: boolean;
  /** Progress lines (stderr in the CLI). */
  readonly log?: (line: string) => void;
}

const LEASE_MS = 1_000;
const WAIT_MS = 3_000;
const CALL_TIMEOUT_MS = 800;
const MAX_TRIES = 8;
const RECONCILE_ROUNDS = 5;
const RECONCILE_PAUSE_MS = 1_000;
/** A frozen holder stays frozen until its op's redelivery is answered, or this long. */
const MAX_STOP_MS = WAIT_MS + 4 * LEASE_MS;
/**
 * Deliveries still running when nothing else has finished for this long are stuck: a legitimate one
 * ends well before (8 tries of at most a wait and a backoff each).
 */
const STUCK_WAIT_MS = 20_000;

type DoneEvent = Extract<WorkerEvent, { type: 'done' }>;

/**
 * Runs one implementation on one store under the schedule of `seed`: main deliveries with kills,
 * freezes, faults, duplicates, clock skew and a store restart; then late replays; then reconciliation;
 * then counts effects per operation on the provider's ledger.
 */
export async function runCombination(
  options: CombinationOptions,
): Promise<{ figures: Figures; scenario: Scenario }> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const providerMode = options.providerMode ?? 'lenient';
  const strict = strictMode(providerMode) !== undefined;
  // A periodic reconciliation job runs no more often than the provider's lookup settles.
  const reconcilePauseMs = Math.max(RECONCILE_PAUSE_MS, strictMode(providerMode)?.lookupSettleMs ?? 0);
  const scenario = generateScenario({
    hangs: strict,
    seed: options.seed,
    ops: options.ops,
    workers: options.workers,
    leaseMs: LEASE_MS,
    restartable: options.store !== 'sqlite' && options.store !== 'none',
  });
  const dir = await mkdtemp(join(tmpdir(), 'rs-chaos-run-'));
  let env: StoreEnvironment | undefined;
  let stopProvider: (() => Promise<void>) | undefined;
  const pools: WorkerPool[] = [];
  try {
    // Plain retries keep no state; every peer runs on the private Redis.
    const replicated = options.store === 'redis-replicated' || options.store === 'postgres-replicated';
    if (options.unprotected === true && !replicated) {
      throw new Error('--unprotected goes with a replicated store (redis-replicated, postgres-replicated)');
    }
    const storeLabel = options.unprotected === true ? `${options.store}-unprotected` : options.store;
    env =
      options.store === 'none'
        ? undefined
        : await startStore(options.store, {
            unprotected: options.unprotected ?? false,
            log: (line) => {
              log(`${options.impl}/${storeLabel}: ${line}`);
            },
          });
    const storeEnv = env;
    const frozen = new Map<string, (pid: number) => void>();
    const provider = await startProvider(
      dir,
      {
        faults: scenario.faults,
        mode: providerMode,
        seed: options.seed,
        nativeKeys: options.nativeKeys ?? false,
        timeoutHoldMs: CALL_TIMEOUT_MS + 700,
        stopHoldMs: 300,
      },
      (op, pid) => frozen.get(op)?.(pid),
    );
    stopProvider = provider.stop;

    const outcomes = new Map<string, DoneEvent[]>();
    let deliveries = 0;
    let redeliveries = 0;
    let stops = 0;
    let restarts = 0;
    const queue: Trigger[][] = [];
    const waiters = new Map<string, () => void>();
    let wake: (() => void) | undefined;
    const poke = (): void => {
      wake?.();
    };
    let redeliveryCount = 0;
    /** Deliveries of a closed pool are not delivered again: the run has moved on. */
    let closing = false;
    /** When a delivery last finished or was dispatched: a drain with no progress for long ends. */
    let lastProgress = Date.now();
    const redeliver = (op: string): Trigger => {
      redeliveries++;
      return { id: `r${++redeliveryCount}`, op, kill: null };
    };

    const config = (lookup: boolean): WorkerConfig => ({
      impl: options.impl,
      store: storeEnv?.spec ?? { kind: 'sqlite', path: join(dir, 'unused.db') },
      provider: provider.url,
      leaseMs: LEASE_MS,
      waitMs: WAIT_MS,
      // The strict modes: no client timeout in any implementation's code (a library's deadline must end
      // a call the provider never answers).
      callTimeoutMs: strict ? null : CALL_TIMEOUT_MS,
      providerMode,
      lookup,
      caller: lookup ? 'reconciler' : 'worker',
      maxTries: MAX_TRIES,
    });
    const onDone = (event: DoneEvent): void => {
      lastProgress = Date.now();
      const list = outcomes.get(event.op) ?? [];
      list.push(event);
      outcomes.set(event.op, list);
      waiters.get(event.trigger)?.();
      poke();
    };
    // SQLite has no server clock: its processes share one host's clock, so skewing one of them models
    // nothing that can happen (a lease judged on a clock 2 leases ahead lapses while its holder works).
    const skews = options.store === 'sqlite' ? scenario.workerSkewMs.map(() => 0) : scenario.workerSkewMs;
    const pool = new WorkerPool(config(false), skews, options.concurrency ?? 4, {
      onDone,
      onLost: (lost) => {
        // The trigger redelivers what a dead worker had taken (at-least-once delivery).
        if (closing) return;
        for (const trigger of lost) queue.unshift([redeliver(trigger.op)]);
        poke();
      },
    });
    pools.push(pool);
    await pool.ready();
    log(`${options.impl}/${options.store}: ${options.workers} workers ready`);

    // The zombie holder: freeze the caller while the provider holds its answer, let the op be delivered
    // again (the trigger's redelivery), wait for that delivery's answer, then thaw the frozen holder.
    const stopsInProgress = new Set<Promise<void>>();
    for (const op of scenario.stops) {
      frozen.set(op, (pid) => {
        frozen.delete(op);
        const slot = pool.slotOf(pid);
        if (slot === undefined) return;
        pool.signal(slot, 'SIGSTOP');
        stops++;
        const again = redeliver(op);
        const answered = new Promise<void>((resolve) => waiters.set(again.id, resolve));
        queue.unshift([again]);
        poke();
        const episode = Promise.race([answered, sleep(MAX_STOP_MS)]).then(() => {
          waiters.delete(again.id);
          pool.signal(slot, 'SIGCONT');
        });
        stopsInProgress.add(episode);
        void episode.finally(() => stopsInProgress.delete(episode));
      });
    }

    const stuckDeliveries = new Set<string>();
    const drain = async (
      target: WorkerPool,
      groups: Trigger[][],
      restartAt: number | null,
    ): Promise<void> => {
      queue.push(...groups);
      const total = groups.length;
      let dispatched = 0;
      let restarting: Promise<void> | undefined;
      lastProgress = Date.now();
      for (;;) {
        while (queue.length > 0) {
          const group = queue[0];
          if (group === undefined) break;
          const free = target.free();
          if (free.length < Math.min(group.length, Math.max(1, options.workers))) break;
          queue.shift();
          lastProgress = Date.now();
          group.forEach((trigger, n) => {
            const slot = free[n % free.length];
            if (slot !== undefined) target.send(slot.slot, trigger);
            deliveries++;
          });
          dispatched++;
          if (restartAt !== null && restarting === undefined && dispatched >= total * restartAt) {
            const restart = storeEnv?.restart;
            if (restart !== undefined) {
              restarts++;
              log(
                `${options.impl}/${storeLabel}: ${replicated ? 'failing the store over' : 'restarting the store server'}`,
              );
              restarting = restart();
            }
          }
        }
        if (queue.length === 0 && stopsInProgress.size === 0) {
          if (target.busy() === 0) break;
          if (Date.now() - lastProgress > STUCK_WAIT_MS) {
            for (const trigger of target.running()) stuckDeliveries.add(trigger.op);
            log(`${options.impl}/${options.store}: ${target.busy()} deliveries stuck, moving on`);
            break;
          }
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 200);
        });
        wake = undefined;
      }
      await restarting;
    };

    await drain(
      pool,
      scenario.groups.map((group) => [...group]),
      scenario.storeRestartAt,
    );
    log(`${options.impl}/${options.store}: main deliveries done (${deliveries}), late replays next`);
    await drain(
      pool,
      scenario.lateReplays.map((trigger) => [trigger]),
      null,
    );
    closing = true;
    // A stuck delivery never ends by itself: its worker is killed after a short grace.
    await pool.close(stuckDeliveries.size > 0 ? 2_000 : undefined);
    closing = false;

    const pending = (): string[] =>
      scenario.ops.filter((op) => !(outcomes.get(op) ?? []).some((event) => event.outcome.status === 'ok'));
    // retrysafe: also every record the store does not hold as succeeded (an outcome that could not be
    // recorded while the store was down is returned to its caller, and its record is left to reconcile).
    const toReconcile = async (): Promise<string[]> => {
      const left = new Set(pending());
      if (options.impl === 'retrysafe' && storeEnv !== undefined) {
        for (const { op } of (await auditRetrysafe(storeEnv.spec, scenario.ops)).notSucceeded) left.add(op);
      }
      return scenario.ops.filter((op) => left.has(op));
    };
    const unknownAfterRun = await toReconcile();
    // Reconciliation: the operations nobody saw finish are run again, retrysafe with a provider lookup,
    // in rounds like a periodic reconciliation job (a new attempt can itself meet a fault). Plain
    // retries have nothing to reconcile with: an unfinished operation stays as it is.
    if (unknownAfterRun.length > 0 && options.impl !== 'plain') {
      // One reconciler process; it runs as many deliveries at once as the whole pool did, at least 16.
      const reconcilerConcurrency = Math.max(16, (options.concurrency ?? 4) * options.workers);
      const reconciler = new WorkerPool(config(true), [0], reconcilerConcurrency, {
        onDone,
        onLost: (lost) => {
          for (const trigger of lost) queue.unshift([redeliver(trigger.op)]);
          poke();
        },
      });
      pools.push(reconciler);
      await reconciler.ready();
      for (let round = 1, left = unknownAfterRun; round <= RECONCILE_ROUNDS && left.length > 0; round++) {
        log(`${options.impl}/${options.store}: reconciliation round ${round}: ${left.length} operations`);
        await drain(
          reconciler,
          left.map((op, n) => [{ id: `c${round}.${n + 1}`, op, kill: null }]),
          null,
        );
        left = await toReconcile();
        // Like a periodic job: the next round comes a while later (a lookup's "absent" is trusted only
        // after the attempt's store time, which a skewed SQLite worker may have set ahead).
        if (left.length > 0) await sleep(reconcilePauseMs);
      }
      closing = true;
      await reconciler.close(stuckDeliveries.size > 0 ? 2_000 : undefined);
    }

    const counts = countLedger(scenario.ops, await provider.ledger());
    const all = [...outcomes.values()].flat();
    const staleHolders = all.filter((event) => event.outcome.status === 'stale').length;
    const audit =
      options.impl === 'retrysafe' && storeEnv !== undefined
        ? await auditRetrysafe(storeEnv.spec, scenario.ops)
        : undefined;
    const unresolved = new Set(pending());
    for (const { op } of audit?.notSucceeded ?? []) unresolved.add(op);
    // Stuck: a delivery that never ended, or a record still in flight after everything.
    const stuck = new Set(stuckDeliveries);
    for (const { op, state } of audit?.notSucceeded ?? []) if (state === 'in_flight') stuck.add(op);

    const violations: string[] = [];
    for (const { op, effects } of counts.wrong.slice(0, 20)) {
      violations.push(
        `${op}: ${effects} effects; faults ${JSON.stringify(scenario.faults[op] ?? [])}; deliveries ` +
          JSON.stringify(
            (outcomes.get(op) ?? []).map((e) => [
              e.trigger,
              e.outcome.status,
              'detail' in e.outcome ? e.outcome.detail.slice(0, 160) : '',
            ]),
          ) +
          (audit === undefined ? '' : `; audit ${JSON.stringify(audit.trails.get(op) ?? [])}`),
      );
    }
    if (counts.wrong.length > 20) violations.push(`... and ${counts.wrong.length - 20} more operations`);
    if (audit !== undefined) {
      // Per operation: every delivery told its claim was lost must have left a refused late write.
      for (const [op, events] of outcomes) {
        const stale = events.filter((event) => event.outcome.status === 'stale');
        const late = audit.lateWritesByOp.get(op) ?? 0;
        if (stale.length <= late) continue;
        violations.push(
          `${op}: ${stale.length} stale holders but ${late} late writes refused; stale ` +
            JSON.stringify(
              stale.map((e) => [e.trigger, 'detail' in e.outcome ? e.outcome.detail.slice(0, 200) : '']),
            ) +
            `; audit ${JSON.stringify(audit.trails.get(op) ?? [])}`,
        );
      }
    }
    if (stuck.size > 0)
      violations.push(`${stuck.size} operations stuck: ${JSON.stringify([...stuck].slice(0, 5))}`);
    if (unresolved.size > 0)
      violations.push(
        `${unresolved.size} operations unresolved: ` +
          JSON.stringify(
            [...unresolved].slice(0, 5).map((op) => ({
              op,
              record: audit?.notSucceeded.find((entry) => entry.op === op),
              deliveries: (outcomes.get(op) ?? []).map((e) => [e.trigger, e.outcome.status]),
            })),
          ),
      );

    const figures: Figures = {
      impl: options.impl,
      store: storeLabel,
      provider: providerMode,
      seed: options.seed,
      schedule_digest: scenarioDigest(scenario),
      logical: scenario.ops.length,
      effects: counts.effects,
      duplicates: counts.duplicates,
      ops_with_duplicates: counts.opsWithDuplicates,
      lost: counts.lost,
      unknown_unresolved: unresolved.size,
      stuck: stuck.size,
      unknown_after_run: unknownAfterRun.length,
      late_writes_refused: audit?.lateWrites ?? null,
      stale_holders: staleHolders,
      deliveries,
      redeliveries,
      kills: pools.reduce((sum, p) => sum + p.deaths, 0),
      stops,
      store_restarts: restarts,
      provider_requests: counts.requests,
      duration_s: Math.round((Date.now() - started) / 100) / 10,
      violations,
    };
    return { figures, scenario };
  } finally {
    await Promise.all(pools.map((pool) => pool.kill().catch(() => undefined)));
    await stopProvider?.().catch(() => undefined);
    await env?.dispose().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
