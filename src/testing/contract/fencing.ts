import { randomUUID } from 'node:crypto';
import { expect } from './expect.ts';
import { it } from './runner.ts';
import { decide } from '../../machine/decide.ts';
import type { Lease } from '../../stores/types.ts';
import {
  beginRequest,
  current,
  detailHolds,
  expectAbout,
  fp,
  HOUR_MS,
  notReserved,
  reserve,
  scope,
  settlement,
  sleep,
  type ContractContext,
} from './support.ts';

/** A lease this short has lapsed after `LAPSE_MS`. */
const SHORT_LEASE_MS = 150;
const LAPSE_MS = 220;

/** Every write by a holder is fenced on (attempt, token); lapsed leases become unknown, never free. */
export function fencingContract({ store }: ContractContext): void {
  it('settle with a wrong token or attempt is refused, changes nothing and is kept as a late write', async () => {
    const { key } = scope('fence-settle');
    const { lease, record } = await reserve(store(), key());
    const forged: Lease = { ...lease, token: randomUUID() };
    const stale: Lease = { ...lease, attempt: lease.attempt + 1 };
    const late = settlement({ result: '{"value":"late-evidence"}', providerRef: 'ref-late' });

    const refusedToken = await store().settle(forged, late);
    expect(refusedToken).toEqual({ ok: false, record });
    const refusedAttempt = await store().settle(stale, settlement({ state: 'failed', result: '{"f":1}' }));
    expect(refusedAttempt).toEqual({ ok: false, record });
    expect(await current(store(), key())).toEqual(record);

    const audit = await store().audit(key());
    const lateWrites = audit.filter((entry) => entry.event === 'late_write');
    expect(lateWrites).toHaveLength(2);
    const [first, second] = lateWrites;
    expect(first?.attempt).toBe(lease.attempt);
    expect(detailHolds(first?.detail ?? 'null', 'succeeded')).toBe(true);
    expect(detailHolds(first?.detail ?? 'null', late.result)).toBe(true);
    expect(detailHolds(first?.detail ?? 'null', 'ref-late')).toBe(true);
    expect(second?.attempt).toBe(stale.attempt);
    expect(detailHolds(second?.detail ?? 'null', 'failed')).toBe(true);
    // Every store keeps the same detail: the whole settlement and the lease it came under.
    expect(JSON.parse(first?.detail ?? 'null')).toEqual({
      state: 'succeeded',
      result: late.result,
      providerRef: 'ref-late',
      reason: null,
      ttlMs: late.ttlMs,
      tombstoneMs: late.tombstoneMs,
      token: forged.token,
      generation: lease.generation,
    });

    // The real holder is unaffected by the refused writes.
    expect((await store().settle(lease, settlement())).ok).toBe(true);
  });

  it('settle on a key that does not exist is refused with no record, and kept as a late write', async () => {
    const { key } = scope('fence-missing');
    const lease: Lease = { key: key(), attempt: 1, generation: 1, token: randomUUID(), leaseUntil: 0 };
    expect(await store().settle(lease, settlement())).toEqual({ ok: false, record: undefined });
    expect(await store().get(key())).toBeUndefined();
    const audit = await store().audit(key());
    expect(audit.map((entry) => entry.event)).toEqual(['late_write']);
  });

  it('heartbeat extends the holder lease and refuses a wrong token or attempt', async () => {
    const { key } = scope('heartbeat');
    const { lease, record } = await reserve(store(), key(), { leaseMs: 1_000 });
    expect(await store().heartbeat({ ...lease, token: randomUUID() }, HOUR_MS)).toEqual({
      ok: false,
      record,
    });
    expect(await store().heartbeat({ ...lease, attempt: 2 }, HOUR_MS)).toEqual({ ok: false, record });
    expect(await current(store(), key())).toEqual(record);
    expect(await store().heartbeat({ ...lease, key: scope('nothing').key() }, HOUR_MS)).toEqual({
      ok: false,
      record: undefined,
    });

    const renewed = await store().heartbeat(lease, HOUR_MS);
    expect(renewed.ok).toBe(true);
    if (!renewed.ok) return;
    expect(renewed.record).toMatchObject({ state: 'in_flight', attempt: 1, leaseOwner: lease.token });
    expect(renewed.record.leaseUntil).toBeGreaterThan(record.leaseUntil ?? Infinity);
    // Renewed from the heartbeat's time, which is no earlier than the reservation's.
    expect(renewed.record.leaseUntil).toBeGreaterThanOrEqual(record.updatedAt + HOUR_MS - 1);
    expect(await current(store(), key())).toEqual(renewed.record);
    // Heartbeats are not audit events: they would drown the log.
    expect(await store().audit(key())).toEqual([]);
  });

  it('the fence is attempt and token, not the clock: a lapsed lease nobody took over still settles', async () => {
    const { key } = scope('lapsed-settle');
    const { lease } = await reserve(store(), key(), { leaseMs: 0 });
    const lapsed = await notReserved(store(), beginRequest(key()));
    expect(decide(lapsed.record, { fingerprint: fp('a'), retryFailed: false }, lapsed.now).kind).toBe(
      'reconcile',
    );
    const done = await store().settle(lease, settlement());
    expect(done.ok).toBe(true);
    expect(await current(store(), key())).toMatchObject({ state: 'succeeded', attempt: 1 });
  });

  it('markUnknown waits for the lease to lapse, needs the exact attempt, then fences out the old holder', async () => {
    const { key } = scope('mark-unknown');
    const { lease, record } = await reserve(store(), key(), { leaseMs: SHORT_LEASE_MS });
    expect(await store().markUnknown(key(), 1, 'lapsed?')).toEqual({ ok: false, record });
    expect(await store().markUnknown(scope('nothing').key(), 1, 'x')).toEqual({
      ok: false,
      record: undefined,
    });

    await sleep(LAPSE_MS);
    expect(await store().markUnknown(key(), 2, 'wrong attempt')).toEqual({ ok: false, record });
    const marked = await store().markUnknown(key(), 1, 'lease lapsed before the outcome was recorded');
    expect(marked.ok).toBe(true);
    const unknown = await current(store(), key());
    expect(marked.ok && marked.record).toEqual(unknown);
    expect(unknown).toMatchObject({
      state: 'unknown',
      attempt: 1,
      generation: 1,
      fingerprint: record.fingerprint,
      leaseOwner: null,
      leaseUntil: null,
      expiresAt: null,
      tombstoneUntil: null,
      reason: 'lease lapsed before the outcome was recorded',
    });
    // Marking twice is refused: the record already moved on.
    expect(await store().markUnknown(key(), 1, 'again')).toEqual({ ok: false, record: unknown });

    const late = await store().settle(lease, settlement({ result: '{"value":"it did happen"}' }));
    expect(late).toEqual({ ok: false, record: unknown });
    expect(await current(store(), key())).toEqual(unknown);
    const events = (await store().audit(key())).map((entry) => entry.event);
    expect(events).toEqual(['marked_unknown', 'late_write']);
  });

  it('reclaim gives an unknown record a new attempt in the same generation, at the exact attempt only', async () => {
    const { key } = scope('reclaim');
    const { lease } = await reserve(store(), key());
    await store().settle(lease, settlement({ state: 'unknown', result: null, reason: 'timeout' }));
    const unknown = await current(store(), key());

    const wrong = await store().reclaim({
      key: key(),
      attempt: 2,
      token: randomUUID(),
      leaseMs: HOUR_MS,
      reason: 'x',
    });
    expect(wrong).toEqual({ ok: false, record: unknown });

    const token = randomUUID();
    const claimed = await store().reclaim({
      key: key(),
      attempt: 1,
      token,
      leaseMs: HOUR_MS,
      reason: 'lookup: absent',
    });
    expect('lease' in claimed).toBe(true);
    if (!('lease' in claimed)) return;
    expect(claimed.lease).toMatchObject({ key: key(), attempt: 2, generation: 1, token });
    expect(claimed.record).toMatchObject({
      state: 'in_flight',
      attempt: 2,
      generation: 1,
      fingerprint: unknown.fingerprint,
      leaseOwner: token,
      leaseUntil: claimed.lease.leaseUntil,
      createdAt: unknown.createdAt,
      expiresAt: null,
    });
    expect(await current(store(), key())).toEqual(claimed.record);

    const again = await store().reclaim({
      key: key(),
      attempt: 1,
      token: randomUUID(),
      leaseMs: HOUR_MS,
      reason: 'y',
    });
    expect(again).toEqual({ ok: false, record: claimed.record });
    expect((await store().settle(lease, settlement())).ok).toBe(false);
    expect((await store().settle(claimed.lease, settlement())).ok).toBe(true);
    const events = (await store().audit(key())).map((entry) => entry.event);
    expect(events).toEqual(['reclaimed', 'late_write']);
  });

  it('reclaim takes over a lapsed in-flight attempt, but never a live one', async () => {
    const { key } = scope('reclaim-lapsed');
    const live = await reserve(store(), key('live'));
    const refused = await store().reclaim({
      key: key('live'),
      attempt: 1,
      token: randomUUID(),
      leaseMs: HOUR_MS,
      reason: 'x',
    });
    expect(refused).toEqual({ ok: false, record: live.record });

    await reserve(store(), key('lapsed'), { leaseMs: 0 });
    const claimed = await store().reclaim({
      key: key('lapsed'),
      attempt: 1,
      token: randomUUID(),
      leaseMs: HOUR_MS,
      reason: 're-send',
    });
    expect('lease' in claimed && claimed.lease.attempt).toBe(2);
  });

  it('resolve settles an unknown record with who and why in the audit log', async () => {
    const { key } = scope('resolve');
    for (const state of ['succeeded', 'failed', 'released'] as const) {
      const k = key(state);
      const { lease } = await reserve(store(), k);
      await store().settle(
        lease,
        settlement({ state: 'unknown', result: '{"partial":true}', providerRef: null, reason: 'timeout' }),
      );
      const unknown = await current(store(), k);
      const request = {
        key: k,
        attempt: 1,
        state,
        result: state === 'released' ? null : `{"value":"${state}"}`,
        providerRef: state === 'succeeded' ? 'ch_resolved' : null,
        reason: `checked the dashboard: ${state}`,
        actor: 'alice@example.com',
        ttlMs: HOUR_MS,
        tombstoneMs: HOUR_MS,
      };
      expect(await store().resolve({ ...request, attempt: 2 })).toEqual({ ok: false, record: unknown });
      const resolved = await store().resolve(request);
      expect(resolved.ok).toBe(true);
      const record = await current(store(), k);
      expect(resolved.ok && resolved.record).toEqual(record);
      expect(record).toMatchObject({
        state,
        attempt: 1,
        generation: 1,
        result: request.result,
        providerRef: request.providerRef,
        reason: request.reason,
        leaseOwner: null,
      });
      expectAbout(record.expiresAt, record.updatedAt + HOUR_MS);
      const entry = (await store().audit(k)).find((e) => e.event === 'resolved');
      expect(entry).toMatchObject({ actor: 'alice@example.com', attempt: 1 });
      expect(detailHolds(entry?.detail ?? 'null', request.reason)).toBe(true);
      // Every store keeps the same evidence: the resolution, and what the unknown attempt left behind.
      expect(JSON.parse(entry?.detail ?? 'null')).toMatchObject({
        state,
        reason: request.reason,
        result: request.result,
        providerRef: request.providerRef,
        previous: { state: 'unknown', reason: 'timeout', result: '{"partial":true}', providerRef: null },
      });
      // Resolved once: the record moved on.
      expect((await store().resolve(request)).ok).toBe(false);
    }
  });

  it('requestResolution logs a request on an unknown record at exactly its attempt and changes nothing', async () => {
    const { key } = scope('resolution-request');
    const input = {
      id: 'req-1',
      key: key(),
      attempt: 1,
      state: 'released' as const,
      result: null,
      providerRef: null,
      reason: 'no charge in the dashboard',
      requestedBy: 'alice',
    };
    expect(await store().requestResolution(input)).toEqual({ ok: false, record: undefined });
    const { lease } = await reserve(store(), key());
    expect((await store().requestResolution(input)).ok).toBe(false);
    await store().settle(lease, settlement({ state: 'unknown', result: null, reason: 'timeout' }));
    const unknown = await current(store(), key());
    expect((await store().requestResolution({ ...input, attempt: 2 })).ok).toBe(false);
    expect(await store().requestResolution(input)).toEqual({ ok: true, record: unknown });
    expect(await current(store(), key())).toEqual(unknown);
    const entries = await store().audit(key());
    expect(entries.map((entry) => [entry.event, entry.actor, entry.attempt])).toEqual([
      ['resolution_requested', 'alice', 1],
    ]);
    expect(JSON.parse(entries[0]?.detail ?? 'null')).toMatchObject({
      id: 'req-1',
      state: 'released',
      reason: input.reason,
    });
    // The approval is a resolve with its evidence, kept in the resolved entry on every store.
    const evidence = { kind: 'second-person', request: 'req-1', requestedBy: 'alice', approvedBy: 'bob' };
    const resolved = await store().resolve({
      key: key(),
      attempt: 1,
      state: 'released',
      reason: input.reason,
      actor: 'bob',
      ttlMs: HOUR_MS,
      tombstoneMs: HOUR_MS,
      evidence: JSON.stringify(evidence),
    });
    expect(resolved.ok).toBe(true);
    const entry = (await store().audit(key())).find((e) => e.event === 'resolved');
    expect(JSON.parse(entry?.detail ?? 'null')).toMatchObject({ evidence });
    expect((await store().requestResolution(input)).ok).toBe(false);
  });

  it('resolve is refused on a live in-flight record and allowed once its lease lapsed', async () => {
    const { key } = scope('resolve-live');
    const live = await reserve(store(), key('live'));
    const request = {
      attempt: 1,
      state: 'succeeded',
      result: '{"value":1}',
      reason: 'found it',
      actor: 'reconciler',
      ttlMs: HOUR_MS,
      tombstoneMs: HOUR_MS,
    } as const;
    expect(await store().resolve({ ...request, key: key('live') })).toEqual({
      ok: false,
      record: live.record,
    });
    expect(await current(store(), key('live'))).toEqual(live.record);

    await reserve(store(), key('lapsed'), { leaseMs: 0 });
    const resolved = await store().resolve({ ...request, key: key('lapsed') });
    expect(resolved.ok && resolved.record.state).toBe('succeeded');
  });
}
