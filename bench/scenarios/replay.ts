import { eachStoreWithFloor, floorPairRows } from '../lib/floor-pair.ts';
import { alternate } from '../lib/measure.ts';
import { blockPlan, profileCalls as profileCount, ratio } from '../lib/plan.ts';
import { describeProfile, profileCalls } from '../lib/profile.ts';
import { STORE_KINDS } from '../lib/rows.ts';
import { emptyResult, type Scenario } from '../lib/scenario.ts';
import { emptySample, summarize } from '../lib/stats.ts';
import { floorKey, floorResult, keyOf } from '../lib/workload.ts';

/** Scenario 2: calls on keys that already succeeded (the stored result comes back, nothing is called). */
export const replay: Scenario = {
  name: 'replay',
  title: 'Replay path (a key that already succeeded)',
  stores: STORE_KINDS,
  async run(context) {
    const result = emptyResult();
    const keys = context.quick ? 200 : 2000;
    result.notes.push(
      `${keys} keys are recorded first, then called again in a cycle, one call at a time. The floor is one ` +
        'minimal read of the recorded result with the same driver (SQLite: one SELECT; PostgreSQL: one SELECT ' +
        'round trip; Redis: one EVALSHA of a GET script).',
    );
    await eachStoreWithFloor(context, 'replay', async ({ kind, location, floor, charge }) => {
      const tag = `r${context.env.runId}`;
      for (let i = 0; i < keys; i++) {
        await charge({ id: keyOf(tag, i), amount: 100 });
        const key = floorKey(tag, i);
        await floor.op(key, floorResult(key));
      }
      const samples = await alternate(
        [
          {
            name: 'retrysafe',
            op: async (i) => {
              const answer = await charge({ id: keyOf(tag, i % keys), amount: 100 });
              if (!answer.replayed) throw new Error('replay: a recorded key was performed again');
            },
          },
          { name: 'floor', op: (i) => floor.read(floorKey(tag, i % keys)) },
        ],
        blockPlan(context.quick),
      );
      const ours = summarize(samples.get('retrysafe') ?? emptySample());
      const base = summarize(samples.get('floor') ?? emptySample());
      const costRatio = base.opsPerS / ours.opsPerS;
      result.rows.push(
        ...floorPairRows(
          { scenario: 'replay', case: 'replay', store: kind },
          { summary: ours, extra: { keys } },
          { summary: base, note: 'one read of the recorded result', extra: { round_trips: 1 } },
        ),
      );
      const profile = await profileCalls(
        location,
        profileCount(context.quick),
        true,
        `rp${context.env.runId}`,
        {
          scriptTimesUrl: kind === 'redis' && context.env.redisOwned ? context.env.redisUrl : undefined,
        },
      );
      result.notes.push(
        `**${kind}** replay costs ${ratio(costRatio)} the one-read floor. Profile: ${describeProfile(profile, kind)}.` +
          (profile.walBytesPerCall !== undefined && profile.walBytesPerCall > 0
            ? ` A replay still writes WAL (${profile.walBytesPerCall} bytes per call): look for a lock or a write on the replay path.`
            : '') +
          (kind === 'sqlite'
            ? ' On SQLite a replay is one plain read outside any write transaction (the write lock is taken only ' +
              'for a key that can be reserved), so replays do not queue behind other processes’ writers.'
            : kind === 'postgres'
              ? ' On PostgreSQL a replay is answered from the begin statement’s snapshot without locking the row, so ' +
                'it writes no WAL and its commit waits for no flush.'
              : ''),
      );
    });
    return result;
  },
};
