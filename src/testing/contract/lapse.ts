import { expect } from './expect.ts';
import { it } from './runner.ts';
import { decide } from '../../machine/decide.ts';
import { RecordState } from '../../machine/record.ts';
import {
  beginRequest,
  current,
  HOUR_MS,
  notReserved,
  reserve,
  scope,
  settlement,
  type ContractContext,
} from './support.ts';

/**
 * An in-flight record without a lease end (a damaged or hand-edited row; no store writes one) has no
 * holder anyone could wait for: it is lapsed (`isLapsed`, src/machine/lapse.ts), so reconciliation can
 * act on it, while its holder's fence still holds. Registered only for stores whose test gives the
 * `eraseLeaseEnd` hook.
 */
export function lapseContract({ store, eraseLeaseEnd }: ContractContext): void {
  if (eraseLeaseEnd === undefined) return;

  it('reads an in-flight record without a lease end as lapsed: begin reconciles, markUnknown applies', async () => {
    const { key } = scope('no-lease-end');
    const request = beginRequest(key());
    const { record: reserved } = await reserve(store(), key(), { fingerprint: request.fingerprint });
    await eraseLeaseEnd(key());
    const { record, now } = await notReserved(store(), request);
    expect(record.leaseUntil).toBeNull();
    expect(decide(record, request, now).kind).toBe('reconcile');

    const marked = await store().markUnknown(key(), reserved.attempt, 'no lease end');
    expect(marked.ok).toBe(true);
    expect((await current(store(), key())).state).toBe(RecordState.Unknown);
  });

  it('reclaims, resolves and takes a resolution request for an in-flight record without a lease end', async () => {
    const { key } = scope('no-lease-end-open');
    for (const name of ['reclaim', 'resolve', 'request']) await reserve(store(), key(name));
    for (const name of ['reclaim', 'resolve', 'request']) await eraseLeaseEnd(key(name));

    const reclaimed = await store().reclaim({
      key: key('reclaim'),
      attempt: 1,
      token: 'reclaimer',
      leaseMs: HOUR_MS,
      reason: 'no lease end',
    });
    expect(reclaimed.ok).toBe(true);
    if (reclaimed.ok) expect(reclaimed.lease.attempt).toBe(2);

    const resolved = await store().resolve({
      key: key('resolve'),
      attempt: 1,
      state: RecordState.Released,
      reason: 'no lease end',
      actor: 'contract',
      ttlMs: HOUR_MS,
      tombstoneMs: HOUR_MS,
    });
    expect(resolved.ok).toBe(true);

    const requested = await store().requestResolution({
      id: 'no-lease-end',
      key: key('request'),
      attempt: 1,
      state: RecordState.Failed,
      result: null,
      providerRef: null,
      reason: 'no lease end',
      requestedBy: 'contract',
    });
    expect(requested.ok).toBe(true);
  });

  it('still fences on attempt and token: the holder of a record without a lease end heartbeats and settles', async () => {
    const { key } = scope('no-lease-end-holder');
    const { lease } = await reserve(store(), key());
    await eraseLeaseEnd(key());
    const beat = await store().heartbeat(lease, HOUR_MS);
    expect(beat.ok).toBe(true);
    expect((await current(store(), key())).leaseUntil).not.toBeNull();
    await eraseLeaseEnd(key());
    expect((await store().heartbeat({ ...lease, token: 'forged' }, HOUR_MS)).ok).toBe(false);
    expect((await store().settle(lease, settlement())).ok).toBe(true);
  });
}
