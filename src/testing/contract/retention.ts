import { expect } from './expect.ts';
import { it } from './runner.ts';
import { decide } from '../../machine/decide.ts';
import {
  beginRequest,
  current,
  fp,
  HOUR_MS,
  notReserved,
  reserve,
  scope,
  settled,
  settlement,
  sleep,
  type ContractContext,
} from './support.ts';

const same = { fingerprint: fp('a'), retryFailed: false } as const;

/** TTL, tombstones and gc: what a key means after its record expires. */
export function retentionContract({ store }: ContractContext): void {
  it('after the TTL only a tombstone answers; gc compacts it, then deletes it; then the key is new', async () => {
    const { key } = scope('ttl');
    // Generous tombstone: the "still a tombstone" checks and the compaction must not race a loaded machine.
    const first = await settled(
      store(),
      key(),
      { request: '{"amount":100}' },
      { ttlMs: 100, tombstoneMs: 2_000 },
    );
    expect(first.result).not.toBeNull();
    expect(first.request).toBe('{"amount":100}');

    const early = await notReserved(store(), beginRequest(key()));
    expect(early.record.result).toBe(first.result);
    expect(decide(early.record, same, early.now).kind).toBe('replay');

    await sleep(150);
    const late = await notReserved(store(), beginRequest(key()));
    expect(decide(late.record, same, late.now).kind).toBe('tombstone');
    const other = await notReserved(store(), beginRequest(key(), { fingerprint: fp('b') }));
    expect(decide(other.record, { ...same, fingerprint: fp('b') }, other.now).kind).toBe('mismatch');

    const compacting = await store().gc();
    expect(compacting.compacted).toBeGreaterThanOrEqual(1);
    // Compaction drops the result and the request, nothing else (a store may or may not count it as an update).
    const tombstone = await current(store(), key());
    expect({ ...tombstone, updatedAt: first.updatedAt }).toEqual({ ...first, result: null, request: null });

    // Past the tombstone's end (the stores' clocks are this machine's).
    await sleep(Math.max(0, (first.tombstoneUntil ?? 0) - Date.now() + 50));
    const deleting = await store().gc();
    expect(deleting.deleted).toBeGreaterThanOrEqual(1);
    expect(await store().get(key())).toBeUndefined();

    const { lease, record } = await reserve(store(), key());
    expect(lease).toMatchObject({ attempt: 1, generation: 1 });
    expect(record.createdAt).toBeGreaterThan(first.createdAt);
  });

  it('past its tombstone a record not yet collected is a new write whose attempt continues', async () => {
    const { key } = scope('past-tombstone');
    const first = await settled(store(), key(), {}, { ttlMs: 20, tombstoneMs: 20 });
    await sleep(80);
    const { lease, record } = await reserve(store(), key());
    expect(lease).toMatchObject({ attempt: 2, generation: 1 });
    expect(record).toMatchObject({ state: 'in_flight', attempt: 2, result: null, expiresAt: null });
    expect(record.createdAt).toBeGreaterThan(first.createdAt);
  });

  it('a released record past its tombstone is collected like any other', async () => {
    const { key } = scope('released-gc');
    await settled(store(), key(), {}, { state: 'released', result: null, ttlMs: 1, tombstoneMs: 1 });
    await sleep(20);
    await store().gc();
    expect(await store().get(key())).toBeUndefined();
  });

  it('gc never touches in-flight or unknown records, whatever their age', async () => {
    const { key } = scope('gc-spares');
    await reserve(store(), key('lapsed'), { leaseMs: 0 });
    await reserve(store(), key('live'));
    await settled(
      store(),
      key('unknown'),
      {},
      { state: 'unknown', result: '{"partial":true}', reason: 'timeout' },
    );
    const before = await Promise.all(
      ['lapsed', 'live', 'unknown'].map((name) => current(store(), key(name))),
    );
    await sleep(20);
    await store().gc({ batchSize: 1 });
    const after = await Promise.all(['lapsed', 'live', 'unknown'].map((name) => current(store(), key(name))));
    expect(after).toEqual(before);
  });

  it('gc works in batches and reports what it compacted and deleted', async () => {
    const { key } = scope('gc-batches');
    const names = ['a', 'b', 'c', 'd', 'e'];
    for (const name of names) {
      await settled(store(), key(`gone-${name}`), {}, { ttlMs: 1, tombstoneMs: 1 });
      await settled(store(), key(`compact-${name}`), {}, { ttlMs: 1, tombstoneMs: HOUR_MS });
    }
    await settled(store(), key('fresh'), {}, { ttlMs: HOUR_MS });
    await sleep(20);

    const limited = await store().gc({ batchSize: 2, maxBatches: 1 });
    expect(limited.deleted).toBeLessThanOrEqual(2);
    expect(limited.compacted).toBeLessThanOrEqual(2);

    const rest = await store().gc({ batchSize: 2 });
    const gone = await Promise.all(names.map((name) => store().get(key(`gone-${name}`))));
    expect(gone.every((record) => record === undefined)).toBe(true);
    const compacted = await Promise.all(names.map((name) => current(store(), key(`compact-${name}`))));
    for (const record of compacted) {
      expect(record).toMatchObject({ state: 'succeeded', result: null, providerRef: 'ch_1' });
    }
    // Other tests' expired records may be collected in the same run; ours are at least counted.
    expect(limited.deleted + rest.deleted).toBeGreaterThanOrEqual(names.length);
    expect(limited.compacted + rest.compacted).toBeGreaterThanOrEqual(names.length);
    expect((await current(store(), key('fresh'))).result).not.toBeNull();

    // A tombstone keeps its summary and still refuses to run again.
    const tombstone = await notReserved(store(), beginRequest(key('compact-a')));
    expect(decide(tombstone.record, same, tombstone.now).kind).toBe('tombstone');
  });

  it('the audit log outlives gc: entries stay after the record is compacted and deleted', async () => {
    const { key } = scope('audit-retention');
    // An unknown outcome resolved by a person: a marked/resolved trail, then short retention.
    const { lease } = await reserve(store(), key(), { leaseMs: 1 });
    await sleep(10);
    expect((await store().markUnknown(key(), lease.attempt, 'lease lapsed')).ok).toBe(true);
    const resolved = await store().resolve({
      key: key(),
      attempt: lease.attempt,
      state: 'succeeded',
      result: '{"value":{"id":"ch_9"}}',
      providerRef: 'ch_9',
      reason: 'found in the dashboard',
      actor: 'alice',
      ttlMs: 1,
      tombstoneMs: 1,
    });
    expect(resolved.ok).toBe(true);
    // A stale holder's settle after that is the kind of evidence that must survive.
    await store().settle(lease, settlement({ providerRef: 'ch_late' }));
    const before = await store().audit(key());
    expect(before.map((entry) => entry.event)).toEqual(['marked_unknown', 'resolved', 'late_write']);

    await sleep(20);
    await store().gc();
    expect(await store().get(key())).toBeUndefined();
    expect(await store().audit(key())).toEqual(before);
  });

  it('a compacted failure keeps its reason', async () => {
    const { key } = scope('gc-failed');
    await settled(
      store(),
      key(),
      {},
      {
        state: 'failed',
        result: '{"name":"Declined"}',
        reason: 'Declined: card declined',
        ttlMs: 1,
        tombstoneMs: HOUR_MS,
      },
    );
    await sleep(20);
    await store().gc();
    expect(await current(store(), key())).toMatchObject({
      state: 'failed',
      result: null,
      reason: 'Declined: card declined',
    });
  });
}
