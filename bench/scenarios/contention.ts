import { retrysafe, type Store } from '../../src/index.ts';
import { contend, type ContendReply } from '../lib/contend.ts';
import { ms } from '../lib/plan.ts';
import { row, STORE_KINDS, type StoreKind } from '../lib/rows.ts';
import { emptyResult, type Scenario, type ScenarioResult } from '../lib/scenario.ts';
import { percentile, wallMs } from '../lib/stats.ts';
import { destroyLocation, newLocation, openStore, type Location, type OpenedStore } from '../lib/stores.ts';
import { startWorkers, type Worker } from '../lib/workers.ts';
import { chargeOperation, keyOf, sleepName } from '../lib/workload.ts';

const CALLERS = 64;
const CLIENTS = 4;
const CALL_MS = 20;
const WAKE_BAR_MS = 5;

interface Trial {
  readonly allDoneMs: number;
  /** Per client that did not hold the key: first result after the holder recorded. */
  readonly wakeUpsMs: number[];
  readonly performed: number;
  /** In-process only: per waiting client, holder recorded → its last waitForChange returned. */
  readonly notifiedMs: number[];
  /** In-process only: per waiting client, last waitForChange returned → first result (the re-read). */
  readonly rereadMs: number[];
}

/**
 * `wakes[c]`: when client c's store.waitForChange calls returned (in-process runs only), which splits
 * a wake-up into the notification's arrival and the re-read after it.
 */
function trialOf(replies: readonly ContendReply[], startAt: number, wakes: readonly number[][] = []): Trial {
  const settledAt = replies.map((r) => r.settledAt).find((at) => at !== undefined);
  const clients = replies.flatMap((r) => r.outcomes);
  const all = clients.flat();
  const wakeUpsMs: number[] = [];
  const notifiedMs: number[] = [];
  const rereadMs: number[] = [];
  clients.forEach((outcomes, c) => {
    if (settledAt === undefined || outcomes.some((o) => !o.replayed)) return;
    const first = Math.min(...outcomes.map((o) => o.doneAt));
    wakeUpsMs.push(first - settledAt);
    const woke = (wakes[c] ?? []).filter((at) => at <= first);
    const last = woke[woke.length - 1];
    if (last !== undefined) {
      notifiedMs.push(last - settledAt);
      rereadMs.push(first - last);
    }
  });
  return {
    allDoneMs: Math.max(...all.map((o) => o.doneAt)) - startAt,
    wakeUpsMs,
    performed: all.filter((o) => !o.replayed).length,
    notifiedMs,
    rereadMs,
  };
}

type Mode = { label: string; clients: number; processes: boolean };

const MODES: readonly Mode[] = [
  { label: `in-process, 1 client, ${CALLERS} callers`, clients: 1, processes: false },
  {
    label: `in-process, ${CLIENTS} clients × ${CALLERS / CLIENTS} callers`,
    clients: CLIENTS,
    processes: false,
  },
  { label: `${CLIENTS} processes × ${CALLERS / CLIENTS} callers`, clients: CLIENTS, processes: true },
];

async function runMode(location: Location, mode: Mode, trials: number, tag: string): Promise<Trial[]> {
  const results: Trial[] = [];
  if (mode.processes) {
    let workers: Worker[] = [];
    try {
      workers = await startWorkers(mode.clients, { type: 'open', location, sleepMs: CALL_MS });
      // Trial 0 warms up (connections, LISTEN, subscriptions) and is not recorded.
      for (let t = 0; t <= trials; t++) {
        const startAt = wallMs() + 100;
        const key = keyOf(tag, t);
        const replies = await Promise.all(
          workers.map((w) =>
            w.request({ type: 'contend', key, callers: CALLERS / mode.clients, startAt }, 'contended'),
          ),
        );
        if (t === 0) continue;
        results.push(
          trialOf(
            replies.map((r) => r.reply),
            startAt,
          ),
        );
      }
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
    return results;
  }
  const opened: OpenedStore[] = [];
  try {
    for (let c = 0; c < mode.clients; c++) opened.push(await openStore(location));
    const wakes: number[][] = opened.map(() => []);
    const operations = opened.map((o, c) =>
      chargeOperation(
        retrysafe({ store: recordingWakes(o.store, wakes[c] ?? []), namespace: 'bench' }),
        CALL_MS,
      ),
    );
    for (const o of opened) await o.store.migrate();
    for (let t = 0; t <= trials; t++) {
      for (const list of wakes) list.length = 0;
      const startAt = wallMs() + 5;
      const reply = await contend(operations, keyOf(tag, t), CALLERS / mode.clients, startAt);
      if (t > 0) results.push(trialOf([reply], startAt, wakes));
    }
  } finally {
    for (const o of opened) await o.close();
  }
  return results;
}

/** The store, with the time each `waitForChange` returns appended to `wakes`. */
function recordingWakes(store: Store, wakes: number[]): Store {
  const wait = store.waitForChange?.bind(store);
  if (wait === undefined) return store;
  return new Proxy(store, {
    get(target, property) {
      if (property === 'waitForChange') {
        return async (key: string, timeoutMs: number, signal?: AbortSignal) => {
          await wait(key, timeoutMs, signal);
          wakes.push(wallMs());
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function waitKind(kind: StoreKind): string {
  return kind === 'sqlite' ? 'polling (2 ms doubling to 100 ms)' : 'notification';
}

/** Scenario 4: 64 concurrent callers on one key, in one process and across processes. */
export const contention: Scenario = {
  name: 'contention',
  title: `Contention: ${CALLERS} concurrent callers on one key`,
  stores: STORE_KINDS,
  async run(context): Promise<ScenarioResult> {
    const result = emptyResult();
    const trials = context.quick ? 3 : 15;
    result.notes.push(
      `Each trial starts ${CALLERS} callers on one fresh key at the same wall-clock instant; the downstream ` +
        `call sleeps ${CALL_MS} ms, so every other caller is waiting when the holder records. \`p50_ms\`/\`p99_ms\` ` +
        'of the `until all` rows: time from the start until the last caller has the result. Wake-up rows: for ' +
        'each client (or process) that did not hold the key, the time from the holder recording its outcome ' +
        `(the \`retrysafe:settle\` diagnostics event) to that client's first result. ${trials} trials per row, ` +
        'after one warm-up trial that opens connections and subscriptions. ' +
        'Callers of one client share one in-process call, so with one client nobody waits on the store.',
    );
    for (const kind of context.stores) {
      const location = newLocation(kind, context.env, 'contention');
      try {
        for (const [m, mode] of MODES.entries()) {
          context.log(`contention: ${kind}, ${mode.label}`);
          const runs = await runMode(location, mode, trials, `c${m}${context.env.runId}`);
          const allDone = runs.map((r) => r.allDoneMs);
          const wakeUps = runs.flatMap((r) => r.wakeUpsMs);
          const performedOnce = runs.every((r) => r.performed === 1);
          const downstream = sleepName(CALL_MS);
          result.rows.push(
            row({
              scenario: 'contention',
              case: `${mode.label}: until all have the result`,
              impl: 'retrysafe',
              store: kind,
              downstream,
              p50_ms: percentile(allDone, 50),
              p99_ms: percentile(allDone, 99),
              note: performedOnce ? null : 'MORE THAN ONE CALLER PERFORMED THE CALL in some trial',
              extra: {
                trials,
                callers: CALLERS,
                clients: mode.clients,
                performed_once_every_trial: performedOnce,
              },
            }),
          );
          if (wakeUps.length === 0) continue;
          const p50 = percentile(wakeUps, 50);
          const notified = runs.flatMap((r) => r.notifiedMs);
          const reread = runs.flatMap((r) => r.rereadMs);
          if (notified.length > 0) {
            const notice = percentile(notified, 50);
            result.notes.push(
              `**${kind}, ${mode.label}**: splitting the wake-up, a waiting client’s \`waitForChange\` returned ` +
                (notice < 0
                  ? `${ms(-notice)} before the holder’s own settle call returned (the notification is sent at commit)`
                  : `${ms(notice)} after the holder recorded`) +
                ` (p50), and the re-read that follows (a \`begin\` that finds the stored result) took ` +
                `${ms(percentile(reread, 50))} (p50; p99 ${ms(percentile(reread, 99))}).`,
            );
          }
          result.rows.push(
            row({
              scenario: 'contention',
              case: `${mode.label}: waiter wake-up after the holder records`,
              impl: 'retrysafe',
              store: kind,
              downstream,
              p50_ms: p50,
              p99_ms: percentile(wakeUps, 99),
              note: waitKind(kind),
              extra: {
                samples: wakeUps.length,
                max_ms: Math.round(Math.max(...wakeUps) * 1000) / 1000,
                notified_p50_ms:
                  notified.length === 0 ? null : Math.round(percentile(notified, 50) * 1000) / 1000,
                reread_p50_ms: reread.length === 0 ? null : Math.round(percentile(reread, 50) * 1000) / 1000,
              },
            }),
          );
          if (kind !== 'sqlite' && mode.clients > 1) {
            result.bars.push({
              bar: `waiter wake-up p50 < ${WAKE_BAR_MS} ms (${mode.label})`,
              store: kind,
              measured: `${ms(p50)} (p99 ${ms(percentile(wakeUps, 99))}, ${wakeUps.length} waiters)`,
              met: p50 < WAKE_BAR_MS,
            });
          }
        }
      } finally {
        await destroyLocation(location);
      }
    }
    return result;
  },
};
