import { retrysafe } from '../../src/index.ts';
import { postgresFloor } from '../floors/postgres.ts';
import { timedConcurrent } from '../lib/measure.ts';
import { ratio } from '../lib/plan.ts';
import { row } from '../lib/rows.ts';
import type { ScenarioContext, ScenarioResult } from '../lib/scenario.ts';
import { emptySample, summarize, type Sample } from '../lib/stats.ts';
import { destroyLocation, newLocation, openStore } from '../lib/stores.ts';
import { chargeOperation, floorKey, floorResult, keyOf, NOOP } from '../lib/workload.ts';

const CONCURRENCY = [1, 4] as const;

/**
 * Why PostgreSQL throughput does not grow with more callers: the floor with and without a `pg_notify`
 * in each statement (the store's records trigger notifies on every reservation and settlement), and
 * retrysafe, at 1 and 4 concurrent callers in one process.
 */
export async function pgCommitDiagnostic(context: ScenarioContext, result: ScenarioResult): Promise<void> {
  const location = newLocation('postgres', context.env, 'commits');
  if (location.kind !== 'postgres') return;
  const plain = await postgresFloor(location.url, location.schema, { max: 8 });
  const notifying = await postgresFloor(location.url, location.schema, { notify: true, max: 8 });
  const opened = await openStore(location);
  const durationMs = context.quick ? 500 : 3000;
  try {
    const charge = chargeOperation(retrysafe({ store: opened.store, namespace: 'bench' }));
    await opened.store.migrate();
    const tag = `n${context.env.runId}`;
    let serial = 0;
    const contenders = [
      {
        impl: 'floor',
        op: () => {
          const key = floorKey(`${tag}p`, serial++);
          return plain.op(key, floorResult(key));
        },
      },
      {
        impl: 'floor + pg_notify',
        op: () => {
          const key = floorKey(`${tag}n`, serial++);
          return notifying.op(key, floorResult(key));
        },
      },
      { impl: 'retrysafe', op: () => charge({ id: keyOf(tag, serial++), amount: 100 }) },
    ];
    const samples = new Map<string, Sample>();
    // Two alternating rounds, so that load drifts hit every variant alike.
    for (let round = 0; round < 2; round++) {
      for (const concurrency of CONCURRENCY) {
        for (const contender of contenders) {
          const name = `${contender.impl}@${concurrency}`;
          const sample = await timedConcurrent(concurrency, durationMs, contender.op);
          const total = samples.get(name) ?? emptySample();
          total.latenciesMs.push(...sample.latenciesMs);
          total.ops += sample.ops;
          total.elapsedMs += sample.elapsedMs;
          samples.set(name, total);
        }
      }
    }
    const speedups = new Map<string, number>();
    const single = new Map<string, number>();
    for (const contender of contenders) {
      const one = summarize(samples.get(`${contender.impl}@1`) ?? emptySample());
      single.set(contender.impl, one.opsPerS);
      for (const concurrency of CONCURRENCY) {
        const s = summarize(samples.get(`${contender.impl}@${concurrency}`) ?? emptySample());
        result.rows.push(
          row({
            scenario: 'scaling',
            case: `diagnostic: ${concurrency} concurrent caller${concurrency === 1 ? '' : 's'} in one process`,
            impl: contender.impl,
            store: 'postgres',
            downstream: NOOP,
            ops_per_s: s.opsPerS,
            p50_ms: s.p50Ms,
            p99_ms: s.p99Ms,
            extra: {
              concurrency,
              calls: s.ops,
              speedup_vs_1: Math.round((s.opsPerS / one.opsPerS) * 1000) / 1000,
            },
          }),
        );
        if (concurrency > 1) speedups.set(contender.impl, s.opsPerS / one.opsPerS);
      }
    }
    const speedup = (impl: string): number => speedups.get(impl) ?? Number.NaN;
    const notifyCost = (single.get('floor') ?? Number.NaN) / (single.get('floor + pg_notify') ?? Number.NaN);
    const top = CONCURRENCY[CONCURRENCY.length - 1] ?? 4;
    const ours = speedup('retrysafe');
    const base = speedup('floor');
    result.notes.push(
      `**PostgreSQL diagnostic** (rows \`diagnostic: ...\`): from 1 to ${top} concurrent callers in one process ` +
        `throughput grows ${ratio(base)} for the floor, ${ratio(speedup('floor + pg_notify'))} for the floor with ` +
        `a pg_notify in each statement, and ${ratio(ours)} for retrysafe` +
        (ours < 0.75 * base
          ? ', so retrysafe’s statements contend with each other more than the floor’s do.'
          : ', about as much as the floor: in this run its statements do not serialize each other more than the ' +
            'floor’s do, and its lower throughput is per-statement cost (see the statement diagnostic under ' +
            'the overhead scenario).') +
        ` At one caller, adding a pg_notify to each of the floor’s two statements alone costs ${ratio(notifyCost)} ` +
        'per call; the store’s records trigger notifies on every reservation and on every settlement.',
    );
  } finally {
    await opened.close();
    await notifying.close();
    await plain.close();
    await destroyLocation(location);
  }
}
