import { freeBytes, pgDataDirectory } from '../lib/bulk-load.ts';
import { lineChart } from '../lib/chart.ts';
import { alternate } from '../lib/measure.ts';
import { ms, ratio } from '../lib/plan.ts';
import { row, STORE_KINDS, type Extra, type StoreKind } from '../lib/rows.ts';
import { emptyResult, type Scenario, type ScenarioContext, type ScenarioResult } from '../lib/scenario.ts';
import { emptySample, percentile, summarize, wallMs, type Summary } from '../lib/stats.ts';
import { SizedStore } from '../lib/sized-store.ts';
import { pgCommitDiagnostic } from './pg-commits.ts';
import { destroyLocation, newLocation, type Location } from '../lib/stores.ts';
import { startWorkers, type Worker } from '../lib/workers.ts';
import { NOOP } from '../lib/workload.ts';
import { dirname } from 'node:path';

const WORKER_COUNTS = [1, 2, 4] as const;
const SIZE_BAR = 1.5;
const REFERENCE_SIZE = 10_000;
/** Disk per loaded record (the record and its index entries), generously rounded up. */
const BYTES_PER_LOADED_RECORD = 1500;

async function workerScaling(
  context: ScenarioContext,
  kind: StoreKind,
  result: ScenarioResult,
): Promise<[number, number][]> {
  const location = newLocation(kind, context.env, 'scaling');
  const durationMs = context.quick ? 1000 : 5000;
  let workers: Worker[] = [];
  const points: [number, number][] = [];
  try {
    workers = await startWorkers(Math.max(...WORKER_COUNTS), { type: 'open', location, sleepMs: 0 });
    let single = Number.NaN;
    for (const count of WORKER_COUNTS) {
      context.log(`scaling: ${kind}, ${count} workers`);
      const startAt = wallMs() + 200;
      const replies = await Promise.all(
        workers
          .slice(0, count)
          .map((w, i) =>
            w.request(
              { type: 'throughput', tag: `s${count}w${i}${context.env.runId}`, startAt, durationMs },
              'throughput',
            ),
          ),
      );
      const ops = replies.reduce((sum, r) => sum + r.reply.ops, 0);
      const elapsed = Math.max(...replies.map((r) => r.reply.elapsedMs));
      const latencies = replies.flatMap((r) => r.reply.latenciesMs);
      const total = (ops * 1000) / elapsed;
      if (count === 1) single = total;
      points.push([count, total]);
      result.rows.push(
        row({
          scenario: 'scaling',
          case: `${count} worker process${count === 1 ? '' : 'es'}, distinct keys`,
          impl: 'retrysafe',
          store: kind,
          downstream: NOOP,
          ops_per_s: total,
          p50_ms: percentile(latencies, 50),
          p99_ms: percentile(latencies, 99),
          extra: {
            workers: count,
            calls: ops,
            duration_ms: Math.round(elapsed),
            speedup_vs_1_worker: Math.round((total / single) * 1000) / 1000,
          },
        }),
      );
    }
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await destroyLocation(location);
  }
  return points;
}

/** Sizes that fit on the disks involved (with room to spare); the rest are reported as skipped. */
async function sizesThatFit(
  context: ScenarioContext,
  location: Location,
  sizes: readonly number[],
): Promise<number[]> {
  let path = location.kind === 'sqlite' ? dirname(location.path) : undefined;
  if (location.kind === 'postgres') path = await pgDataDirectory(location.url);
  if (path === undefined || path === '') return [...sizes];
  let free: number;
  try {
    free = await freeBytes(path);
  } catch {
    return [...sizes];
  }
  return sizes.filter((size) => {
    const fits = size * BYTES_PER_LOADED_RECORD * 2 < free;
    if (!fits)
      context.log(
        `scaling: ${location.kind}: ${size} records would not fit in ${(free / 2 ** 30).toFixed(1)} GiB free`,
      );
    return fits;
  });
}

/**
 * Reserve latency as the store grows. A reference store stays at 10k records and is measured in the
 * same alternating blocks as the grown one, so each size is compared with 10k under the same load.
 */
async function recordScaling(
  context: ScenarioContext,
  kind: StoreKind,
  result: ScenarioResult,
): Promise<[number, number][]> {
  const wanted = context.quick ? [100_000] : [1_000_000, 10_000_000];
  const log = (message: string): void => {
    context.log(`scaling: ${kind}: ${message}`);
  };
  const reference = new SizedStore(newLocation(kind, context.env, 'records_ref'), log);
  const grown = new SizedStore(newLocation(kind, context.env, 'records'), log);
  const points: [number, number][] = [];
  try {
    const sizes = await sizesThatFit(context, grown.location, wanted);
    const tag = `g${context.env.runId}`;
    await reference.open(`${tag}ref`);
    await grown.open(tag);
    await reference.grow(REFERENCE_SIZE);
    for (const size of sizes) {
      const loadS = await grown.grow(size);
      log(`measuring ${size} records beside ${REFERENCE_SIZE}`);
      const samples = await alternate(
        [...reference.contenders('ref', `${tag}${size}a`), ...grown.contenders('big', `${tag}${size}b`)],
        context.quick
          ? { rounds: 2, blockMs: 300, warmupOps: 50 }
          : { rounds: 4, blockMs: 2000, warmupOps: 300 },
      );
      const get = (name: string): Summary => summarize(samples.get(name) ?? emptySample());
      const refReserve = get('ref reserve');
      const bigReserve = get('big reserve');
      if (points.length === 0) points.push([REFERENCE_SIZE, refReserve.p50Ms]);
      points.push([size, bigReserve.p50Ms]);
      const growth = bigReserve.p50Ms / refReserve.p50Ms;
      const add = (records: number, impl: string, s: Summary, extra: Extra): void => {
        result.rows.push(
          row({
            scenario: 'scaling',
            case:
              records === size ? `${size} existing records` : `${records} existing records (beside ${size})`,
            impl,
            store: kind,
            downstream: NOOP,
            ops_per_s: s.opsPerS,
            p50_ms: s.p50Ms,
            p99_ms: s.p99Ms,
            extra: { records, calls: s.ops, ...extra },
          }),
        );
      };
      add(REFERENCE_SIZE, 'retrysafe: reserve (store.begin)', refReserve, {});
      add(size, 'retrysafe: reserve (store.begin)', bigReserve, {
        load_s: Math.round(loadS),
        p50_vs_10k_alongside: Math.round(growth * 1000) / 1000,
      });
      add(REFERENCE_SIZE, 'retrysafe: wrapped call', get('ref call'), {});
      add(size, 'retrysafe: wrapped call', get('big call'), {});
      if (size === sizes[sizes.length - 1]) {
        result.bars.push({
          bar: `reserve p50 at 10M records ≤ ${SIZE_BAR}× at 10k`,
          store: kind,
          measured: `${ratio(growth)} at ${size} vs ${REFERENCE_SIZE} records (${ms(bigReserve.p50Ms)} vs ${ms(refReserve.p50Ms)})`,
          met: size >= 10_000_000 ? growth <= SIZE_BAR : null,
        });
      }
    }
    const skipped = wanted.filter((size) => !sizes.includes(size));
    if (skipped.length > 0)
      result.notes.push(`**${kind}**: skipped ${skipped.join(', ')} records: not enough free disk.`);
  } finally {
    await reference.close();
    await grown.close();
  }
  return points;
}

/** Scenario 5: throughput with more worker processes, and reserve latency as the store grows. */
export const scaling: Scenario = {
  name: 'scaling',
  title: 'Scaling: worker processes, and reserve latency against existing records',
  stores: STORE_KINDS,
  async run(context) {
    const result = emptyResult();
    const workerSeries: { name: string; points: [number, number][] }[] = [];
    const sizeSeries: { name: string; points: [number, number][] }[] = [];
    for (const kind of context.stores) {
      workerSeries.push({ name: kind, points: await workerScaling(context, kind, result) });
    }
    for (const kind of context.stores.filter((k) => k !== 'redis')) {
      sizeSeries.push({ name: kind, points: await recordScaling(context, kind, result) });
    }
    if (context.stores.includes('postgres')) {
      context.log('scaling: postgres commit diagnostic');
      await pgCommitDiagnostic(context, result);
    }
    result.charts.push({
      file: 'scaling-workers.svg',
      title: 'Throughput against worker processes',
      svg: lineChart({
        title: 'Fresh-key calls/s, all workers together',
        xLabel: 'worker processes (distinct keys, one call at a time each)',
        yLabel: 'calls/s',
        series: workerSeries,
      }),
    });
    if (sizeSeries.length > 0) {
      result.charts.push({
        file: 'scaling-records.svg',
        title: 'Reserve latency against existing records',
        svg: lineChart({
          title: 'Reserve (store.begin) p50 latency',
          xLabel: 'existing records (log scale)',
          yLabel: 'p50 ms',
          series: sizeSeries,
          logX: true,
        }),
      });
    }
    result.notes.push(
      'Worker rows: each worker process runs one call at a time on its own fresh keys for the same wall-clock ' +
        'window; calls/s is all workers together, latencies are pooled. The machine has 2 cores, so 4 workers ' +
        'share them with the store servers and with each other.',
      'Record rows: existing records are cloned in SQL from a record (and its audit entries: none on the routine path) written through ' +
        'the store, in the store’s own schema. A reference store held at 10k records is measured in the same ' +
        'alternating blocks as the grown one (reserve = `store.begin` on a fresh key; and the wrapped call), so ' +
        'each size is compared with 10k under the same machine load. Redis is not in this part: the issue asks ' +
        'for PostgreSQL and SQLite.',
    );
    return result;
  },
};
