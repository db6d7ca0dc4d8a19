import { randomUUID } from 'node:crypto';
import { expect } from './expect.ts';
import { it } from './runner.ts';
import type { IdempotencyRecord } from '../../machine/record.ts';
import { current, reserve, scope, settled, settlement, sleep, type ContractContext } from './support.ts';

/** Spacing between writes so that their update times differ (ordering is by update time). */
const TICK_MS = 5;

/** Reading back: list filters and the audit log. */
export function listingContract({ store }: ContractContext): void {
  it('list filters by state, operation and update time, oldest update first, and honours limit', async () => {
    const { key, operation } = scope('list');
    const records: IdempotencyRecord[] = [];
    const plan = [
      ['s1', 'succeeded'],
      ['f1', 'failed'],
      ['i1', 'in_flight'],
      ['r1', 'released'],
      ['s2', 'succeeded'],
    ] as const;
    for (const [name, state] of plan) {
      if (state === 'in_flight') await reserve(store(), key(name), { operation });
      else await settled(store(), key(name), { operation }, { state });
      records.push(await current(store(), key(name)));
      await sleep(TICK_MS);
    }
    const keysOf = (list: IdempotencyRecord[]): string[] => list.map((record) => record.key);
    const byName = (...names: string[]): string[] => names.map((name) => key(name));

    const all = await store().list({ operation });
    expect(all).toEqual(records);
    expect(keysOf(await store().list({ operation, states: ['succeeded', 'failed'] }))).toEqual(
      byName('s1', 'f1', 's2'),
    );
    expect(keysOf(await store().list({ operation, states: ['in_flight'] }))).toEqual(byName('i1'));
    expect(await store().list({ operation, states: [] })).toEqual([]);
    const third = records[2];
    expect(keysOf(await store().list({ operation, updatedBefore: third?.updatedAt ?? 0 }))).toEqual(
      byName('s1', 'f1'),
    );
    expect(keysOf(await store().list({ operation, limit: 2 }))).toEqual(byName('s1', 'f1'));
    expect(await store().list({ operation: `${operation}-other` })).toEqual([]);

    // A later update moves a record to the end.
    const { lease } = await reserve(store(), key('r1'), { operation });
    await store().settle(lease, settlement());
    expect(keysOf(await store().list({ operation })).at(-1)).toBe(key('r1'));

    const inFlightAnywhere = await store().list({ states: ['in_flight'], limit: 10_000 });
    expect(keysOf(inFlightAnywhere)).toContain(key('i1'));
    const times = inFlightAnywhere.map((record) => record.updatedAt);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('audit returns a key’s entries in order, ids increasing, with attempt and actor', async () => {
    const { key } = scope('audit');
    const { lease } = await reserve(store(), key(), { leaseMs: 0 });
    await store().settle({ ...lease, token: randomUUID() }, settlement());
    await store().markUnknown(key(), 1, 'lapsed');
    const claimed = await store().reclaim({
      key: key(),
      attempt: 1,
      token: randomUUID(),
      leaseMs: 0,
      reason: 'absent',
    });
    if (!('lease' in claimed)) throw new Error('expected to reclaim');
    await store().settle(claimed.lease, settlement());
    await reserve(store(), scope('audit-other').key());

    const audit = await store().audit(key());
    expect(audit.map((entry) => [entry.event, entry.attempt, entry.actor])).toEqual([
      ['late_write', 1, 'executor'],
      ['marked_unknown', 1, 'executor'],
      ['reclaimed', 2, 'executor'],
    ]);
    for (const entry of audit) {
      expect(entry.key).toBe(key());
      expect(() => JSON.parse(entry.detail) as unknown).not.toThrow();
    }
    const ids = audit.map((entry) => entry.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    const times = audit.map((entry) => entry.at);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });
}
