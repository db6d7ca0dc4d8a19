import { randomUUID } from 'node:crypto';
import { expect } from './expect.ts';
import { it } from './runner.ts';
import { decide } from '../../machine/decide.ts';
import {
  beginRequest,
  current,
  expectAbout,
  fp,
  HOUR_MS,
  notReserved,
  reserve,
  scope,
  settled,
  settlement,
  type ContractContext,
} from './support.ts';

/** Reserving, replaying and the settle outcomes that free or keep a key. */
export function lifecycleContract({ store }: ContractContext): void {
  it('migrate is idempotent and can run concurrently', async () => {
    await Promise.all([store().migrate(), store().migrate()]);
    const { key } = scope('migrate');
    await reserve(store(), key());
  });

  it('get of a key never seen is undefined, and so is its audit', async () => {
    const { key } = scope('missing');
    expect(await store().get(key())).toBeUndefined();
    expect(await store().audit(key())).toEqual([]);
  });

  it('begin on a new key reserves attempt 1, generation 1, with the given token and a lease', async () => {
    const { key, operation } = scope('begin-new');
    const request = beginRequest(key(), { operation, leaseMs: 60_000, request: '{"amount":100}' });
    const begun = await store().begin(request);
    expect(begun.reserved).toBe(true);
    if (!begun.reserved) return;
    const { lease, record } = begun;
    expect(lease).toMatchObject({ key: key(), attempt: 1, generation: 1, token: request.token });
    expect(record).toMatchObject({
      key: key(),
      operation,
      fingerprint: request.fingerprint,
      state: 'in_flight',
      attempt: 1,
      generation: 1,
      leaseOwner: request.token,
      result: null,
      request: '{"amount":100}',
      providerRef: null,
      reason: null,
      overrideFingerprint: null,
      expiresAt: null,
      tombstoneUntil: null,
    });
    expect(record.leaseUntil).toBe(lease.leaseUntil);
    expect(record.createdAt).toBe(record.updatedAt);
    expectAbout(lease.leaseUntil, record.updatedAt + 60_000);
    expect(await store().get(key())).toEqual(record);

    // The routine path is not logged: the record is its trail.
    expect(await store().audit(key())).toEqual([]);
  });

  it('of 25 concurrent begins on one key exactly one reserves; the others see it in flight', async () => {
    const { key } = scope('concurrent');
    const requests = Array.from({ length: 25 }, () => beginRequest(key()));
    const results = await Promise.all(requests.map((request) => store().begin(request)));
    const winners = results.filter((result) => result.reserved);
    expect(winners).toHaveLength(1);
    const winner = winners[0];
    if (winner?.reserved !== true) return;
    for (const result of results) {
      if (result.reserved) continue;
      expect(result.record).toMatchObject({ state: 'in_flight', attempt: 1, leaseOwner: winner.lease.token });
      expect(decide(result.record, { fingerprint: fp('a'), retryFailed: false }, result.now).kind).toBe(
        'wait',
      );
    }
    expect(await current(store(), key())).toMatchObject({ attempt: 1, leaseOwner: winner.lease.token });
  });

  it('a succeeded key replays its result for the same fingerprint and is untouched by another', async () => {
    const { key } = scope('replay');
    const { lease } = await reserve(store(), key());
    const outcome = settlement({ result: '{"value":{"id":"ch_9"}}', providerRef: 'ch_9' });
    const done = await store().settle(lease, outcome);
    expect(done.ok).toBe(true);
    const record = await current(store(), key());
    expect(record).toMatchObject({
      state: 'succeeded',
      attempt: 1,
      generation: 1,
      result: outcome.result,
      providerRef: 'ch_9',
      leaseOwner: null,
      leaseUntil: null,
    });
    expect(done.ok && done.record).toEqual(record);
    expectAbout(record.expiresAt, record.updatedAt + HOUR_MS);
    expectAbout(record.tombstoneUntil, (record.expiresAt ?? 0) + HOUR_MS);

    const again = await notReserved(store(), beginRequest(key()));
    expect(again.record).toEqual(record);
    expect(decide(again.record, { fingerprint: fp('a'), retryFailed: false }, again.now).kind).toBe('replay');

    const other = await notReserved(store(), beginRequest(key(), { fingerprint: fp('b') }));
    expect(other.record).toEqual(record);
    expect(decide(other.record, { fingerprint: fp('b'), retryFailed: false }, other.now).kind).toBe(
      'mismatch',
    );
    expect(await current(store(), key())).toEqual(record);
    expect(await store().audit(key())).toEqual([]);
  });

  it('a released key reserves the next attempt for the same fingerprint only', async () => {
    const { key } = scope('released');
    const first = await settled(
      store(),
      key(),
      {},
      { state: 'released', result: null, reason: 'ECONNREFUSED' },
    );
    expect(first).toMatchObject({ state: 'released', attempt: 1, reason: 'ECONNREFUSED' });

    const other = await notReserved(store(), beginRequest(key(), { fingerprint: fp('b') }));
    expect(other.record).toEqual(first);

    const token = randomUUID();
    const { lease, record } = await reserve(store(), key(), { token });
    expect(lease).toMatchObject({ attempt: 2, generation: 1, token });
    expect(record).toMatchObject({ state: 'in_flight', attempt: 2, generation: 1, reason: null });
    // Same generation: the record continues rather than starting over.
    expect(record.createdAt).toBe(first.createdAt);
  });

  it('a failed key replays the failure, or reserves the next attempt with retryFailed', async () => {
    const { key } = scope('failed');
    const failure = JSON.stringify({ name: 'Declined', message: 'card declined' });
    const first = await settled(store(), key(), {}, { state: 'failed', result: failure, reason: 'declined' });
    expect(first).toMatchObject({ state: 'failed', result: failure, reason: 'declined' });

    const replayed = await notReserved(store(), beginRequest(key()));
    expect(replayed.record).toEqual(first);
    expect(decide(replayed.record, { fingerprint: fp('a'), retryFailed: false }, replayed.now).kind).toBe(
      'replay',
    );

    const { lease } = await reserve(store(), key(), { retryFailed: true });
    expect(lease).toMatchObject({ attempt: 2, generation: 1 });
  });

  it('a holder may settle as unknown: the record never expires and blocks new attempts', async () => {
    const { key } = scope('settle-unknown');
    const record = await settled(
      store(),
      key(),
      {},
      { state: 'unknown', result: null, reason: 'socket hang up' },
    );
    expect(record).toMatchObject({
      state: 'unknown',
      attempt: 1,
      reason: 'socket hang up',
      leaseOwner: null,
      leaseUntil: null,
      expiresAt: null,
      tombstoneUntil: null,
    });
    const same = await notReserved(store(), beginRequest(key()));
    expect(decide(same.record, { fingerprint: fp('a'), retryFailed: true }, same.now).kind).toBe('reconcile');
    const other = await notReserved(store(), beginRequest(key(), { fingerprint: fp('b') }));
    expect(other.record).toEqual(record);
  });

  it('keys are independent: settling one leaves another untouched', async () => {
    const { key } = scope('independent');
    const a = await reserve(store(), key('a'));
    const b = await reserve(store(), key('b'));
    await store().settle(a.lease, settlement());
    expect(await current(store(), key('b'))).toEqual(b.record);
  });
}
