import { eachStoreWithFloor, floorPairRows } from '../lib/floor-pair.ts';
import { alternate } from '../lib/measure.ts';
import { blockPlan, ms, profileCalls as profileCount, ratio } from '../lib/plan.ts';
import { describeStatementDiagnostic, pgStatementDiagnostic } from '../lib/pg-statements.ts';
import { describeProfile, profileCalls, walBytes } from '../lib/profile.ts';
import { describeScriptTimes, preludeCost, withScriptTimes } from '../lib/script-times.ts';
import { STORE_KINDS } from '../lib/rows.ts';
import { emptyResult, type Scenario } from '../lib/scenario.ts';
import { emptySample, summarize } from '../lib/stats.ts';
import { describeStore } from '../lib/stores.ts';
import { floorKey, floorResult, keyOf } from '../lib/workload.ts';

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
    await eachStoreWithFloor(context, 'overhead', async ({ kind, location, floor, charge }) => {
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
      const ours = summarize(samples.get('retrysafe') ?? emptySample());
      const base = summarize(samples.get('floor') ?? emptySample());
      const costRatio = base.opsPerS / ours.opsPerS;
      result.rows.push(
        ...floorPairRows(
          { scenario: 'overhead', case: 'fresh key', store: kind },
          {
            summary: ours,
            extra: {
              p50_ratio_to_floor: Math.round((ours.p50Ms / base.p50Ms) * 1000) / 1000,
              setup: describeStore(kind),
            },
          },
          { summary: base, note: floor.description, extra: { round_trips: floor.roundTrips } },
        ),
      );
      const met = costRatio <= BAR;
      result.bars.push({
        bar: `fresh-key cost ≤ ${BAR}× the floor`,
        store: kind,
        measured: `${ratio(costRatio)} (p50 ${ms(ours.p50Ms)} vs ${ms(base.p50Ms)})`,
        met,
      });
      const count = profileCount(context.quick);
      const profile = await profileCalls(location, count, false, `op${context.env.runId}`, {
        scriptTimesUrl: kind === 'redis' && context.env.redisOwned ? context.env.redisUrl : undefined,
      });
      // The floor's own figures for the same profile, so the two can be read side by side.
      const floorCalls = async (prefix: string): Promise<void> => {
        for (let i = 0; i < count; i++) {
          const key = floorKey(`${prefix}${context.env.runId}`, i);
          await floor.op(key, floorResult(key));
        }
      };
      let floorServer = '';
      if (kind === 'redis' && context.env.redisOwned && context.env.redisUrl !== undefined) {
        const times = await withScriptTimes(context.env.redisUrl, () => floorCalls('of'));
        const lib = await preludeCost(context.env.redisUrl, count);
        floorServer =
          ` (server-side: ${describeScriptTimes(times)}). The store's shared Lua prelude alone ` +
          `(lib.lua + \`return 1\`) runs ${lib.toFixed(1)} µs per script on the server`;
      }
      let statements = '';
      if (location.kind === 'postgres') {
        const wal = await walBytes(location.url, () => floorCalls('ow'));
        statements =
          ` The floor writes ${Math.round(wal / count)} bytes of WAL per call.` +
          ` ${describeStatementDiagnostic(await pgStatementDiagnostic(location, context.quick ? 100 : 600))}`;
      }
      const line =
        `**${kind}** profile of the fresh-key path: ${describeProfile(profile, kind)}. ` +
        `The floor makes ${floor.roundTrips} round trips${floorServer}.${statements}`;
      result.notes.push(
        met
          ? line
          : `${line} Missed the bar by ${ratio(costRatio / BAR)} (${ratio(costRatio)} against ${BAR}×).`,
      );
    });
    return result;
  },
};
