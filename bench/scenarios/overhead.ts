import { retrysafe } from '../../src/index.ts';
import { openFloor } from '../floors/index.ts';
import { alternate } from '../lib/measure.ts';
import { blockPlan, ms, profileCalls as profileCount, ratio } from '../lib/plan.ts';
import { describeStatementDiagnostic, pgStatementDiagnostic } from '../lib/pg-statements.ts';
import { describeProfile, profileCalls, walBytes } from '../lib/profile.ts';
import { describeScriptTimes, preludeCost, withScriptTimes } from '../lib/script-times.ts';
import { row, STORE_KINDS } from '../lib/rows.ts';
import { emptyResult, type Scenario } from '../lib/scenario.ts';
import { summarize } from '../lib/stats.ts';
import { describeStore, destroyLocation, newLocation, openStore } from '../lib/stores.ts';
import { chargeOperation, floorKey, floorResult, keyOf, NOOP } from '../lib/workload.ts';

const BAR = 1.3;

/** Scenario 1: a wrapped call with a fresh key against the physical floor of each store. */
export const overhead: Scenario = {
  name: 'overhead',
  title: 'Overhead against the physical floor (fresh keys)',
  stores: STORE_KINDS,
  async run(context) {
    const result = emptyResult();
    result.notes.push(
      'One caller, one call at a time, a fresh key per call; retrysafe and the floor alternate in timed ' +
        'blocks on the same store. `ratio_to_floor` is the floor’s calls/s over the row’s calls/s (the ' +
        'mean cost per call relative to the floor).',
    );
    for (const kind of context.stores) {
      context.log(`overhead: ${kind}`);
      const location = newLocation(kind, context.env, 'overhead');
      const opened = await openStore(location);
      const floor = await openFloor(location);
      try {
        const rs = retrysafe({ store: opened.store, namespace: 'bench' });
        const charge = chargeOperation(rs);
        const tag = `o${context.env.runId}`;
        const samples = await alternate(
          [
            { name: 'retrysafe', op: (i) => charge({ id: keyOf(tag, i), amount: 100 }) },
            {
              name: 'floor',
              op: (i) => {
                const key = floorKey(tag, i);
                return floor.op(key, floorResult(key));
              },
            },
          ],
          blockPlan(context.quick),
        );
        const ours = summarize(samples.get('retrysafe') ?? { latenciesMs: [], elapsedMs: 0, ops: 0 });
        const base = summarize(samples.get('floor') ?? { latenciesMs: [], elapsedMs: 0, ops: 0 });
        const costRatio = base.opsPerS / ours.opsPerS;
        const common = { scenario: 'overhead', case: 'fresh key', store: kind, downstream: NOOP } as const;
        result.rows.push(
          row({
            ...common,
            impl: 'retrysafe',
            ops_per_s: ours.opsPerS,
            p50_ms: ours.p50Ms,
            p99_ms: ours.p99Ms,
            ratio_to_floor: costRatio,
            extra: {
              calls: ours.ops,
              p50_ratio_to_floor: Math.round((ours.p50Ms / base.p50Ms) * 1000) / 1000,
              setup: describeStore(kind),
            },
          }),
          row({
            ...common,
            impl: 'floor',
            ops_per_s: base.opsPerS,
            p50_ms: base.p50Ms,
            p99_ms: base.p99Ms,
            ratio_to_floor: 1,
            note: floor.description,
            extra: { calls: base.ops, round_trips: floor.roundTrips },
          }),
        );
        const met = costRatio <= BAR;
        result.bars.push({
          bar: `fresh-key cost ≤ ${BAR}× the floor`,
          store: kind,
          measured: `${ratio(costRatio)} (p50 ${ms(ours.p50Ms)} vs ${ms(base.p50Ms)})`,
          met,
        });
        const profile = await profileCalls(
          location,
          profileCount(context.quick),
          false,
          `op${context.env.runId}`,
          {
            scriptTimesUrl: kind === 'redis' && context.env.redisOwned ? context.env.redisUrl : undefined,
          },
        );
        let floorServer = '';
        if (kind === 'redis' && context.env.redisOwned && context.env.redisUrl !== undefined) {
          const count = profileCount(context.quick);
          const times = await withScriptTimes(context.env.redisUrl, async () => {
            for (let i = 0; i < count; i++) {
              const key = floorKey(`of${context.env.runId}`, i);
              await floor.op(key, floorResult(key));
            }
          });
          const lib = await preludeCost(context.env.redisUrl, count);
          floorServer =
            ` (server-side: ${describeScriptTimes(times)}). The store's shared Lua prelude alone ` +
            `(lib.lua + \`return 1\`) runs ${lib.toFixed(1)} µs per script on the server`;
        }
        let statements = '';
        if (location.kind === 'postgres') {
          const count = profileCount(context.quick);
          const wal = await walBytes(location.url, async () => {
            for (let i = 0; i < count; i++) {
              const key = floorKey(`ow${context.env.runId}`, i);
              await floor.op(key, floorResult(key));
            }
          });
          statements += ` The floor writes ${Math.round(wal / count)} bytes of WAL per call.`;
          statements = ` ${describeStatementDiagnostic(await pgStatementDiagnostic(location, context.quick ? 100 : 600))}`;
        }
        const line =
          `**${kind}** profile of the fresh-key path: ${describeProfile(profile, kind)}. ` +
          `The floor makes ${floor.roundTrips} round trips${floorServer}.${statements}`;
        result.notes.push(
          met
            ? line
            : `${line} Missed the bar by ${ratio(costRatio / BAR)} (${ratio(costRatio)} against ${BAR}×).`,
        );
      } finally {
        await floor.close();
        await opened.close();
        await destroyLocation(location);
      }
    }
    return result;
  },
};
