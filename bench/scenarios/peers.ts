import { retrysafe } from '../../src/index.ts';
import { openFloor } from '../floors/index.ts';
import { alternate, type Contender } from '../lib/measure.ts';
import { nodeIdempotencyPeer, powertoolsPeer, type Peer } from '../lib/peers.ts';
import { blockPlan, ratio } from '../lib/plan.ts';
import { describePerCall, withScriptTimes } from '../lib/script-times.ts';
import { row } from '../lib/rows.ts';
import { emptyResult, type Scenario } from '../lib/scenario.ts';
import { emptySample, summarize, type Summary } from '../lib/stats.ts';
import { destroyLocation, newLocation, openStore } from '../lib/stores.ts';
import { chargeOperation, floorKey, floorResult, keyOf, NOOP } from '../lib/workload.ts';

const BAR = 1.5;
const POWERTOOLS = 'powertools-cache';

/** Scenario 3: retrysafe and the peers on the same Redis server and workload, fresh keys and replays. */
export const peers: Scenario = {
  name: 'peers',
  title: 'Peers side by side on the same Redis',
  stores: ['redis'],
  async run(context) {
    const result = emptyResult();
    const location = newLocation('redis', context.env, 'peers');
    if (location.kind !== 'redis') throw new Error('unreachable');
    const opened = await openStore(location);
    const floor = await openFloor(location);
    const contenders: Peer[] = [];
    try {
      contenders.push(await powertoolsPeer(location.url, location.prefix));
      contenders.push(await nodeIdempotencyPeer(location.url, location.prefix));
      const rs = retrysafe({ store: opened.store, namespace: 'bench' });
      const charge = chargeOperation(rs);
      const lacks = new Map(contenders.map((peer) => [peer.name, peer.lacks]));
      const run = async (
        label: string,
        tag: string,
        index: (i: number) => number,
      ): Promise<Map<string, Summary>> => {
        const list: Contender[] = [
          { name: 'retrysafe', op: (i) => charge({ id: keyOf(tag, index(i)), amount: 100 }) },
          ...contenders.map((peer) => ({
            name: peer.name,
            op: (i: number) => peer.call({ id: keyOf(`${tag}-${peer.name}`, index(i)), amount: 100 }),
          })),
          {
            name: 'floor',
            op: (i: number) => {
              const key = floorKey(tag, index(i));
              return label === 'replay' ? floor.read(key) : floor.op(key, floorResult(key));
            },
          },
        ];
        if (label === 'replay') {
          // Record every key once first, each contender under its own keys (the floor with its write).
          for (let i = 0; i < replayKeys; i++) {
            for (const contender of list.slice(0, -1)) await contender.op(i);
            const key = floorKey(tag, i);
            await floor.op(key, floorResult(key));
          }
        }
        const samples = await alternate(list, blockPlan(context.quick));
        const summaries = new Map(list.map((c) => [c.name, summarize(samples.get(c.name) ?? emptySample())]));
        if (context.env.redisOwned && context.env.redisUrl !== undefined) {
          // Profile pass (not measured): what each contender asks of the server per call.
          const lines: string[] = [];
          const calls = context.quick ? 50 : 300;
          for (const contender of list) {
            const offset = 1_000_000;
            const times = await withScriptTimes(context.env.redisUrl, async () => {
              for (let i = 0; i < calls; i++) await contender.op(label === 'replay' ? i : offset + i);
            });
            const s = summaries.get(contender.name);
            const meanUs = s === undefined ? Number.NaN : 1e6 / s.opsPerS;
            lines.push(
              `${contender.name}: ${describePerCall(times, calls)}, of ${meanUs.toFixed(0)} µs per call measured`,
            );
          }
          result.notes.push(
            `Server-side work per ${label === 'replay' ? 'replay' : 'fresh-key'} call (SLOWLOG): ${lines.join('; ')}.`,
          );
        }
        return summaries;
      };
      const replayKeys = context.quick ? 200 : 2000;
      const cases: [string, Map<string, Summary>][] = [
        ['fresh key', await run('fresh', `pf${context.env.runId}`, (i) => i)],
      ];
      cases.push(['replay', await run('replay', `pr${context.env.runId}`, (i) => i % replayKeys)]);
      for (const [label, summaries] of cases) {
        const floorOps = summaries.get('floor')?.opsPerS ?? Number.NaN;
        const ours = summaries.get('retrysafe')?.opsPerS ?? Number.NaN;
        for (const [impl, s] of summaries) {
          result.rows.push(
            row({
              scenario: 'peers',
              case: label,
              impl,
              store: 'redis',
              downstream: NOOP,
              ops_per_s: s.opsPerS,
              p50_ms: s.p50Ms,
              p99_ms: s.p99Ms,
              ratio_to_floor: floorOps / s.opsPerS,
              note:
                impl === 'floor'
                  ? label === 'replay'
                    ? 'one read (EVALSHA of a GET script)'
                    : 'two EVALSHA of minimal scripts'
                  : (lacks.get(impl) ?? null),
              extra: {
                calls: s.ops,
                retrysafe_speedup: impl === 'retrysafe' ? 1 : Math.round((ours / s.opsPerS) * 1000) / 1000,
              },
            }),
          );
        }
        const powertools = summaries.get(POWERTOOLS)?.opsPerS ?? Number.NaN;
        const speedup = ours / powertools;
        const floorLead = floorOps / powertools;
        result.notes.push(
          `**${label}**: retrysafe runs at ${ratio(speedup)} the Powertools cache layer’s calls/s, and the floor ` +
            `(${label === 'replay' ? 'one minimal read' : 'two minimal EVALSHA'}) at ${ratio(floorLead)}. So ` +
            `${BAR}× Powertools asks retrysafe to cost at most ${ratio(floorLead / BAR)} the floor here; it ` +
            `costs ${ratio(floorOps / ours)}` +
            (speedup >= BAR ? '.' : `, and misses the bar by ${ratio(BAR / speedup)}.`),
        );
        result.bars.push({
          bar: `≥ ${BAR}× the Powertools cache layer's throughput (${label})`,
          store: 'redis',
          measured: `${ratio(speedup)} (${Math.round(ours)} vs ${Math.round(powertools)} calls/s)`,
          met: speedup >= BAR,
        });
      }
      result.notes.push(
        'All contenders run one call at a time against the same Redis server, alternating in timed blocks, ' +
          'each on its own keys. Powertools makes two round trips per call on both paths (SET NX, then SET or ' +
          'GET); @node-idempotency/core makes two as well (SET NX, then SET or GET); retrysafe makes two on a ' +
          'fresh key (begin, settle) and one on a replay. `extra.retrysafe_speedup` is retrysafe’s calls/s over ' +
          'the row’s.',
        ...contenders.map((peer) => `**${peer.name}** lacks: ${peer.lacksInFull}.`),
      );
    } finally {
      for (const peer of contenders) await peer.close();
      await floor.close();
      await opened.close();
      await destroyLocation(location);
    }
    return result;
  },
};
