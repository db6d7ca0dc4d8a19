import { randomUUID } from 'node:crypto';
import { expect } from './expect.ts';
import { it } from './runner.ts';
import { decide } from '../../machine/decide.ts';
import {
  beginRequest,
  current,
  fp,
  HOUR_MS,
  notReserved,
  overrideInput,
  reserve,
  scope,
  settled,
  settlement,
  type ContractContext,
} from './support.ts';

/** Reviewed overrides: the only way a different payload reuses a key, and only once. */
export function overridesContract({ store }: ContractContext): void {
  it('an override request is refused for missing, in-flight and unknown keys and for the same payload', async () => {
    const { key } = scope('override-refused');
    expect((await store().requestOverride(overrideInput(key('missing')))).ok).toBe(false);

    await reserve(store(), key('in-flight'));
    expect((await store().requestOverride(overrideInput(key('in-flight')))).ok).toBe(false);

    await settled(store(), key('unknown'), {}, { state: 'unknown', result: null, reason: 'timeout' });
    expect((await store().requestOverride(overrideInput(key('unknown')))).ok).toBe(false);

    await settled(store(), key('done'));
    const samePayload = await store().requestOverride(overrideInput(key('done'), { fingerprint: fp('a') }));
    expect(samePayload.ok).toBe(false);
    expect(!samePayload.ok && samePayload.reason.length).toBeGreaterThan(0);
    expect(await store().listOverrides(key('done'))).toEqual([]);
  });

  it('approval needs another identity; an approved override reserves a new generation, once', async () => {
    const { key } = scope('override-flow');
    const original = await settled(store(), key());
    const input = overrideInput(key());
    const requested = await store().requestOverride(input);
    expect(requested.ok).toBe(true);
    if (!requested.ok) return;
    expect(requested.override).toMatchObject({
      id: input.id,
      key: key(),
      fingerprint: fp('b'),
      generation: 1,
      requestedBy: 'alice',
      reason: input.reason,
      approvedBy: null,
      approvedAt: null,
      status: 'pending',
    });

    // Pending is not approved: the new payload is still a mismatch.
    const pending = await notReserved(store(), beginRequest(key(), { fingerprint: fp('b') }));
    expect(decide(pending.record, { fingerprint: fp('b'), retryFailed: false }, pending.now).kind).toBe(
      'mismatch',
    );

    expect((await store().approveOverride(input.id, 'alice')).ok).toBe(false);
    expect((await store().approveOverride(randomUUID(), 'bob')).ok).toBe(false);
    const approved = await store().approveOverride(input.id, 'bob');
    expect(approved.ok).toBe(true);
    expect(approved.ok && approved.override).toMatchObject({ status: 'approved', approvedBy: 'bob' });
    expect(approved.ok && approved.override.approvedAt).toEqual(expect.any(Number));
    expect((await store().approveOverride(input.id, 'carol')).ok).toBe(false);
    expect(await current(store(), key())).toMatchObject({
      state: 'succeeded',
      generation: 1,
      fingerprint: fp('a'),
      overrideFingerprint: fp('b'),
    });

    // The old payload still replays until the override is used.
    const stillOld = await notReserved(store(), beginRequest(key()));
    expect(decide(stillOld.record, { fingerprint: fp('a'), retryFailed: false }, stillOld.now).kind).toBe(
      'replay',
    );

    const { lease, record } = await reserve(store(), key(), { fingerprint: fp('b') });
    expect(lease).toMatchObject({ attempt: 2, generation: 2 });
    expect(record).toMatchObject({
      state: 'in_flight',
      fingerprint: fp('b'),
      attempt: 2,
      generation: 2,
      overrideFingerprint: null,
      result: null,
      providerRef: null,
    });
    expect(record.createdAt).toBeGreaterThanOrEqual(original.updatedAt);
    expect((await store().settle(lease, settlement({ providerRef: 'ch_2' }))).ok).toBe(true);

    const replay = await notReserved(store(), beginRequest(key(), { fingerprint: fp('b') }));
    expect(decide(replay.record, { fingerprint: fp('b'), retryFailed: false }, replay.now).kind).toBe(
      'replay',
    );
    const old = await notReserved(store(), beginRequest(key(), { fingerprint: fp('a') }));
    expect(decide(old.record, { fingerprint: fp('a'), retryFailed: false }, old.now).kind).toBe('mismatch');

    const events = (await store().audit(key())).map((entry) => [entry.event, entry.actor]);
    expect(events).toContainEqual(['override_requested', 'alice']);
    expect(events).toContainEqual(['override_approved', 'bob']);
    expect(events.map(([event]) => event)).toContain('override_used');
    const overrides = await store().listOverrides(key());
    expect(overrides).toEqual([expect.objectContaining({ id: input.id, status: 'used', approvedBy: 'bob' })]);
  });

  it('two approved requests for the same change are used together by the one override reservation', async () => {
    const { key } = scope('override-twice');
    await settled(store(), key());
    const first = overrideInput(key());
    const second = overrideInput(key());
    for (const input of [first, second]) {
      expect((await store().requestOverride(input)).ok).toBe(true);
      expect((await store().approveOverride(input.id, 'bob')).ok).toBe(true);
    }
    await reserve(store(), key(), { fingerprint: fp('b') });
    // The reservation's new attempt lapses both approvals: neither may stay listed as usable.
    const statuses = (await store().listOverrides(key())).map((o) => `${o.id} ${o.status}`).sort();
    expect(statuses).toEqual([`${first.id} used`, `${second.id} used`].sort());
  });

  it('approval is refused once the record moved to another generation', async () => {
    const { key } = scope('override-generation');
    await settled(store(), key());
    const first = overrideInput(key(), { fingerprint: fp('b') });
    const second = overrideInput(key(), { fingerprint: fp('c') });
    expect((await store().requestOverride(first)).ok).toBe(true);
    expect((await store().requestOverride(second)).ok).toBe(true);
    expect((await store().approveOverride(first.id, 'bob')).ok).toBe(true);
    await settled(store(), key(), { fingerprint: fp('b') });
    expect(await current(store(), key())).toMatchObject({ generation: 2, fingerprint: fp('b') });
    expect((await store().approveOverride(second.id, 'bob')).ok).toBe(false);
    const stillRefused = await notReserved(store(), beginRequest(key(), { fingerprint: fp('c') }));
    expect(stillRefused.record.generation).toBe(2);
  });

  it('an approval lapses when a retry of the failed write succeeds: the approved payload is refused', async () => {
    // A refund failed; an override to another amount was approved; then the original request was
    // redelivered with retryFailed and succeeded. The approval was for replacing a failed write: it must
    // not become a second write on top of the successful one.
    const { key } = scope('override-lapse-retry');
    await settled(store(), key(), {}, { state: 'failed', result: '{"name":"Declined"}', reason: 'declined' });
    const input = overrideInput(key(), { fingerprint: fp('amount-12') });
    expect((await store().requestOverride(input)).ok).toBe(true);
    expect((await store().approveOverride(input.id, 'bob')).ok).toBe(true);
    expect(await current(store(), key())).toMatchObject({ overrideFingerprint: fp('amount-12'), attempt: 1 });

    const retry = await reserve(store(), key(), { retryFailed: true });
    expect(retry.lease).toMatchObject({ attempt: 2, generation: 1 });
    expect((await store().settle(retry.lease, settlement({ providerRef: 're_1' }))).ok).toBe(true);

    const twelve = beginRequest(key(), { fingerprint: fp('amount-12') });
    const refused = await notReserved(store(), twelve);
    expect(refused.record).toMatchObject({ state: 'succeeded', attempt: 2, generation: 1 });
    expect(
      decide(refused.record, { fingerprint: fp('amount-12'), retryFailed: true }, refused.now).kind,
    ).toBe('mismatch');
    // Not even with retryFailed, and the approved request was never used.
    expect((await store().begin({ ...twelve, retryFailed: true })).reserved).toBe(false);
    expect(await store().listOverrides(key())).toEqual([
      expect.objectContaining({ id: input.id, status: 'approved' }),
    ]);
    expect((await store().audit(key())).map((entry) => entry.event)).not.toContain('override_used');
  });

  it('an approval lapses when the key is reclaimed after an unknown outcome', async () => {
    const { key } = scope('override-lapse-reclaim');
    await settled(store(), key(), {}, { state: 'failed', result: '{"name":"Declined"}', reason: 'declined' });
    const input = overrideInput(key());
    expect((await store().requestOverride(input)).ok).toBe(true);
    expect((await store().approveOverride(input.id, 'bob')).ok).toBe(true);
    // The retry's outcome is unknown; reconciliation reclaims the key and that attempt fails again.
    const retry = await reserve(store(), key(), { retryFailed: true });
    await store().settle(retry.lease, settlement({ state: 'unknown', result: null, reason: 'timeout' }));
    const reclaimed = await store().reclaim({
      key: key(),
      attempt: 2,
      token: randomUUID(),
      leaseMs: HOUR_MS,
      reason: 'lookup: absent',
    });
    if (!reclaimed.ok) throw new Error('expected the reclaim to apply');
    expect(reclaimed.record).toMatchObject({ overrideFingerprint: null, overrideAttempt: null });
    await store().settle(reclaimed.lease, settlement({ state: 'failed', result: '{}', reason: 'declined' }));
    const refused = await notReserved(store(), beginRequest(key(), { fingerprint: fp('b') }));
    expect(decide(refused.record, { fingerprint: fp('b'), retryFailed: false }, refused.now).kind).toBe(
      'mismatch',
    );
  });

  it('approval is refused once the record moved to another attempt since the request', async () => {
    const { key } = scope('override-attempt');
    await settled(store(), key(), {}, { state: 'failed', result: '{"name":"Declined"}', reason: 'declined' });
    const input = overrideInput(key());
    const requested = await store().requestOverride(input);
    expect(requested.ok && requested.override).toMatchObject({ attempt: 1, generation: 1 });
    await settled(store(), key(), { retryFailed: true });
    const approval = await store().approveOverride(input.id, 'bob');
    expect(approval.ok).toBe(false);
    expect(!approval.ok && approval.reason).toMatch(/moved/);
    expect(await current(store(), key())).toMatchObject({ overrideFingerprint: null, attempt: 2 });
  });

  it('an override request keeps the proposed payload for the approver', async () => {
    const { key } = scope('override-payload');
    await settled(store(), key());
    const payload = '{"amount":12,"currency":"EUR"}';
    const input = overrideInput(key(), { payload });
    const requested = await store().requestOverride(input);
    expect(requested.ok && requested.override).toMatchObject({ payload, fingerprint: input.fingerprint });
    expect(await store().listOverrides(key())).toEqual([expect.objectContaining({ id: input.id, payload })]);
    const approved = await store().approveOverride(input.id, 'bob');
    expect(approved.ok && approved.override).toMatchObject({ payload, status: 'approved' });
  });

  it('a failed record accepts an override too', async () => {
    const { key } = scope('override-failed');
    await settled(store(), key(), {}, { state: 'failed', result: '{"name":"Declined"}', reason: 'declined' });
    const input = overrideInput(key());
    expect((await store().requestOverride(input)).ok).toBe(true);
    expect((await store().approveOverride(input.id, 'bob')).ok).toBe(true);
    const { lease } = await reserve(store(), key(), { fingerprint: fp('b') });
    expect(lease.generation).toBe(2);
  });

  it('listOverrides shows pending, approved and used requests, per key and in all', async () => {
    const { key } = scope('override-list');
    for (const name of ['pending', 'approved', 'used']) await settled(store(), key(name));
    const inputs = {
      pending: overrideInput(key('pending')),
      approved: overrideInput(key('approved')),
      used: overrideInput(key('used')),
    };
    for (const input of Object.values(inputs)) expect((await store().requestOverride(input)).ok).toBe(true);
    expect((await store().approveOverride(inputs.approved.id, 'bob')).ok).toBe(true);
    expect((await store().approveOverride(inputs.used.id, 'bob')).ok).toBe(true);
    await reserve(store(), key('used'), { fingerprint: fp('b') });

    for (const [status, input] of Object.entries(inputs)) {
      const listed = await store().listOverrides(input.key);
      expect(listed).toEqual([expect.objectContaining({ id: input.id, key: input.key, status })]);
    }
    const all = await store().listOverrides();
    const ours = all.filter((override) => Object.values(inputs).some((input) => input.id === override.id));
    expect(ours.map((override) => override.status).sort()).toEqual(['approved', 'pending', 'used']);
  });
}
