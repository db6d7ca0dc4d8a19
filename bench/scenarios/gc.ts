import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import { retrysafe, type GcSummary, type OperationPolicy } from '../../src/index.ts';
import { pool } from '../lib/measure.ts';
import { ratio } from '../lib/plan.ts';
import { row, STORE_KINDS, type StoreKind } from '../lib/rows.ts';
import { emptyResult, type Scenario, type ScenarioContext, type ScenarioResult } from '../lib/scenario.ts';
import { SizedStore } from '../lib/sized-store.ts';
import { withScriptTimes } from '../lib/script-times.ts';
import { emptySample, summarize, type Sample } from '../lib/stats.ts';
import { destroyLocation, newLocation, openStore, type Location, type OpenedStore } from '../lib/stores.ts';
import { chargeOperation, keyOf, NOOP } from '../lib/workload.ts';

const DAY = 86_400_000;

interface Dataset {
  readonly label: string;
  readonly what: 'deleted' | 'compacted';
  readonly policy: Partial<OperationPolicy>;
}

const DATASETS: readonly Dataset[] = [
  { label: 'delete records past their tombstone', what: 'deleted', policy: { ttlMs: 1, tombstoneMs: 1 } },
  { label: 'compact records past their TTL', what: 'compacted', policy: { ttlMs: 1, tombstoneMs: 30 * DAY } },
];

/**
 * Sequential fresh-key calls until `stop()` says so (checked between calls). Yields to the event loop
 * between calls: with SQLite and a no-op downstream a call completes in microtasks alone, and an
 * unbroken loop of them would starve the gc running in the same process.
 */
async function liveTraffic(
  call: (i: number) => Promise<unknown>,
  stop: () => boolean,
  offset: number,
): Promise<Sample> {
  const sample = emptySample();
  const begin = performance.now();
  for (let i = 0; !stop(); i++) {
    const t0 = performance.now();
    await call(offset + i);
    sample.latenciesMs.push(performance.now() - t0);
    sample.ops++;
    await yieldToEventLoop();
  }
  sample.elapsedMs = performance.now() - begin;
  return sample;
}

async function expiredRecords(
  context: ScenarioContext,
  kind: StoreKind,
  dataset: Dataset,
  count: number,
  tag: string,
): Promise<{ opened: OpenedStore; location: Location; close: () => Promise<void> }> {
  const location = newLocation(kind, context.env, `gc_${dataset.what}`);
  if (kind === 'redis') {
    // No SQL to clone rows with: written through the store, 32 at a time.
    const opened = await openStore(location);
    const charge = chargeOperation(
      retrysafe({ store: opened.store, namespace: 'bench', defaults: dataset.policy }),
    );
    await pool(count, 32, (i) => charge({ id: keyOf(`${tag}x`, i), amount: 100 }));
    return {
      opened,
      location,
      close: async () => {
        await opened.close();
        await destroyLocation(location);
      },
    };
  }
  const sized = new SizedStore(location, (message) => {
    context.log(`gc: ${kind}: ${message}`);
  });
  await sized.open(tag, dataset.policy);
  await sized.grow(count);
  return { opened: sized.opened, location, close: () => sized.close() };
}

/** Scenario 6: gc throughput on expired records, and live traffic latency while it runs. */
export const gc: Scenario = {
  name: 'gc',
  title: 'GC: expired records per second, and live traffic while gc runs',
  stores: STORE_KINDS,
  async run(context): Promise<ScenarioResult> {
    const result = emptyResult();
    const sqlCount = context.quick ? 5_000 : 200_000;
    const redisCount = context.quick ? 2_000 : 50_000;
    const baselineMs = context.quick ? 500 : 3_000;
    for (const kind of context.stores) {
      for (const dataset of DATASETS) {
        context.log(`gc: ${kind}: ${dataset.label}`);
        const count = kind === 'redis' ? redisCount : sqlCount;
        const tag = `${dataset.what.slice(0, 1)}${context.env.runId}`;
        const data = await expiredRecords(context, kind, dataset, count, tag);
        const collector = await openStore(data.location);
        try {
          await sleep(10);
          const live = chargeOperation(retrysafe({ store: data.opened.store, namespace: 'bench' }));
          const call = (i: number): Promise<unknown> => live({ id: keyOf(`${tag}l`, i), amount: 100 });
          const until = performance.now() + baselineMs;
          const before = await liveTraffic(call, () => performance.now() >= until, 0);
          let summary: GcSummary | undefined;
          let during = emptySample();
          let gcMs = 0;
          const collect = async (): Promise<void> => {
            const t0 = performance.now();
            const collecting = collector.store.gc().then((s) => {
              summary = s;
              return performance.now() - t0;
            });
            during = await liveTraffic(call, () => summary !== undefined, before.ops);
            gcMs = await collecting;
          };
          const url = context.env.redisUrl;
          if (kind === 'redis' && context.env.redisOwned && url !== undefined) {
            // What each gc script costs the (single-threaded) server, i.e. how long it blocks live traffic.
            const times = await withScriptTimes(url, collect);
            const script = times.perScript[dataset.what === 'deleted' ? 'delete' : 'compact'];
            if (script !== undefined) {
              result.notes.push(
                `**redis, ${dataset.label}**: each gc script run (one batch) blocks the server for ` +
                  `${(script.usPerRun / 1000).toFixed(2)} ms on average (${script.runs} runs, SLOWLOG), ` +
                  'while live calls wait behind it.',
              );
            }
          } else {
            await collect();
          }
          const done = summary?.[dataset.what] ?? 0;
          const base = summarize(before);
          const busy = summarize(during.ops > 0 ? during : emptySample());
          result.rows.push(
            row({
              scenario: 'gc',
              case: dataset.label,
              impl: 'retrysafe: gc()',
              store: kind,
              downstream: 'none',
              ops_per_s: (done * 1000) / gcMs,
              note: `records ${dataset.what} per second, default batches of 500`,
              extra: {
                records: count,
                deleted: summary?.deleted ?? 0,
                compacted: summary?.compacted ?? 0,
                duration_ms: Math.round(gcMs),
              },
            }),
            row({
              scenario: 'gc',
              case: `${dataset.label}: live traffic before gc`,
              impl: 'retrysafe',
              store: kind,
              downstream: NOOP,
              ops_per_s: base.opsPerS,
              p50_ms: base.p50Ms,
              p99_ms: base.p99Ms,
              extra: { calls: base.ops },
            }),
            row({
              scenario: 'gc',
              case: `${dataset.label}: live traffic while gc runs`,
              impl: 'retrysafe',
              store: kind,
              downstream: NOOP,
              ops_per_s: busy.opsPerS,
              p50_ms: busy.p50Ms,
              p99_ms: busy.p99Ms,
              note: `p50 ${ratio(busy.p50Ms / base.p50Ms)}, p99 ${ratio(busy.p99Ms / base.p99Ms)} of before`,
              extra: { calls: busy.ops },
            }),
          );
        } finally {
          await collector.close();
          await data.close();
        }
      }
    }
    result.notes.push(
      'Expired records are loaded first (PostgreSQL and SQLite: cloned in SQL from a record written through ' +
        'the store with a 1 ms TTL; Redis: written through the store). Live traffic is one caller making ' +
        'fresh-key calls on its own connection, first alone, then while `gc()` runs on a second connection of ' +
        'the same process; gc’s rate is the records it reported over its wall-clock time.',
    );
    return result;
  },
};
