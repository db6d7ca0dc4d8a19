import { expect } from './expect.ts';
import { it } from './runner.ts';
import type { IdempotencyRecord } from '../../machine/record.ts';
import type { ListCursor } from '../../stores/types.ts';
import { current, reserve, scope, settled, sleep, type ContractContext } from './support.ts';

/** Spacing between writes so that their update times differ (ordering is by update time). */
const TICK_MS = 5;

/** Counting without reading records, and paging `list` by cursor. */
export function countingContract({ store }: ContractContext): void {
  it('count answers per state and operation, lapsed in-flight records and the oldest per state', async () => {
    const { key, operation } = scope('count');
    const other = `${operation}-other`;
    await settled(store(), key('s1'), { operation });
    await sleep(TICK_MS);
    await settled(store(), key('f1'), { operation }, { state: 'failed' });
    await sleep(TICK_MS);
    const lapsed = (await reserve(store(), key('i1'), { operation, leaseMs: 0 })).record;
    await sleep(TICK_MS);
    const live = (await reserve(store(), key('i2'), { operation, leaseMs: 3_600_000 })).record;
    await sleep(TICK_MS);
    await reserve(store(), key('u1'), { operation, leaseMs: 0 });
    await sleep(TICK_MS);
    await store().markUnknown(key('u1'), 1, 'lapsed');
    await settled(store(), key('s2'), { operation });
    await settled(store(), key('x1'), { operation: other });

    const counts = await store().count({ operation, byOperation: true, lapsedAt: lapsed.leaseUntil ?? 0 });
    expect(counts.byState).toEqual({ in_flight: 2, succeeded: 2, failed: 1, unknown: 1, released: 0 });
    expect(counts.byOperation).toEqual({
      [operation]: { in_flight: 2, succeeded: 2, failed: 1, unknown: 1 },
    });
    // Lapsed at its lease end exactly (`isLapsed`: now >= leaseUntil), not a millisecond before.
    expect(counts.lapsedInFlight).toBe(1);
    const before = await store().count({ operation, lapsedAt: (lapsed.leaseUntil ?? 0) - 1 });
    expect(before.lapsedInFlight).toBe(0);
    const later = await store().count({ operation, lapsedAt: (live.leaseUntil ?? 0) + 1 });
    expect(later.lapsedInFlight).toBe(2);
    expect(later.byOperation).toBeUndefined();

    // The oldest per state is the first record `list` gives for that state.
    for (const state of ['in_flight', 'succeeded', 'failed', 'unknown'] as const) {
      const [first] = await store().list({ operation, states: [state], limit: 1 });
      expect(counts.oldest[state]).toEqual({ updatedAt: first?.updatedAt, key: first?.key, operation });
    }
    expect(counts.oldest.released).toBeUndefined();

    const settledOnly = await store().count({ operation, states: ['succeeded', 'failed'] });
    expect(settledOnly.byState).toEqual({ succeeded: 2, failed: 1 });
    const s2 = await current(store(), key('s2'));
    const earlier = await store().count({ operation, states: ['succeeded'], updatedBefore: s2.updatedAt });
    expect(earlier.byState).toEqual({ succeeded: 1 });
    expect(await store().count({ operation, states: [] })).toEqual({ byState: {}, oldest: {} });
    expect((await store().count({ operation: `${operation}-none` })).byState.succeeded).toBe(0);
  });

  it('count without an operation agrees with list over the whole store', async () => {
    const { key, operation } = scope('count-all');
    await settled(store(), key('u'), { operation }, { state: 'unknown' });
    const everything = await store().count({ byOperation: true });
    for (const state of ['in_flight', 'unknown', 'succeeded', 'failed', 'released'] as const) {
      const listed = await store().list({ states: [state], limit: 1_000_000 });
      expect(everything.byState[state]).toBe(listed.length);
      const first = listed[0];
      expect(everything.oldest[state]).toEqual(
        first === undefined
          ? undefined
          : { updatedAt: first.updatedAt, key: first.key, operation: first.operation },
      );
    }
    expect(everything.byOperation?.[operation]).toEqual({ unknown: 1 });
  });

  it('list pages by cursor: after the last record of a page comes the next page, nothing twice, nothing missed', async () => {
    const { key, operation } = scope('cursor');
    const states = ['succeeded', 'failed', 'succeeded', 'released', 'succeeded'] as const;
    let n = 0;
    for (const state of states) {
      await settled(store(), key(`r${n++}`), { operation }, { state });
      // Two records per tick at most, so ties on the update time occur on fast stores.
      if (n % 2 === 0) await sleep(TICK_MS);
    }
    await reserve(store(), key('live'), { operation, leaseMs: 3_600_000 });
    const all = await store().list({ operation });
    expect(all).toHaveLength(6);
    for (const size of [1, 2, 4]) {
      const paged: IdempotencyRecord[] = [];
      let after: ListCursor | undefined;
      for (let page = 0; page < 10; page++) {
        const records = await store().list({
          operation,
          limit: size,
          ...(after === undefined ? {} : { after }),
        });
        paged.push(...records);
        const last = records.at(-1);
        if (records.length < size || last === undefined) break;
        after = { updatedAt: last.updatedAt, key: last.key };
      }
      expect(paged.map((record) => record.key)).toEqual(all.map((record) => record.key));
    }
    const third = all[2];
    if (third === undefined) throw new Error('expected six records');
    const rest = await store().list({ operation, after: { updatedAt: third.updatedAt, key: third.key } });
    expect(rest.map((record) => record.key)).toEqual(all.slice(3).map((record) => record.key));
    const succeededAfter = await store().list({
      operation,
      states: ['succeeded'],
      after: { updatedAt: third.updatedAt, key: third.key },
    });
    expect(succeededAfter.map((record) => record.key)).toEqual(
      all
        .slice(3)
        .filter((record) => record.state === 'succeeded')
        .map((record) => record.key),
    );
    const last = all.at(-1);
    if (last === undefined) throw new Error('expected six records');
    expect(await store().list({ operation, after: { updatedAt: last.updatedAt, key: last.key } })).toEqual(
      [],
    );
  });
}
