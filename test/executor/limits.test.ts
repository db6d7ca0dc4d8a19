import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  PayloadMismatchError,
  PayloadTooLargeError,
  TombstoneReplayError,
  type Lease,
  type Store,
} from '../../src/index.ts';
import { LeaseKeeper } from '../../src/executor/lease-keeper.ts';
import { MAX_TIMER_MS } from '../../src/executor/policy.ts';
import { sqliteFixture, type Fixture } from './fixtures.ts';

let fx: Fixture;
beforeEach(() => {
  fx = sqliteFixture();
});
afterEach(async () => {
  await fx.close();
});

interface Payment {
  readonly order: number;
  readonly card: string;
  readonly amount: number;
}

describe('finding 5: an error on a collision carries no one else’s payload or result', () => {
  it('a PayloadMismatchError shows state, attempt and fingerprints; the full record only on request', async () => {
    const pay = fx.rs.operation<Payment, { id: string; clientSecret: string }>({
      name: 'pay',
      version: 1,
      key: (p) => ({ order: p.order }),
      call: (p) => Promise.resolve({ id: `pi_${p.order}`, clientSecret: 'pi_secret_of_tenant_a' }),
    });
    await pay({ order: 1, card: '4000056655665556', amount: 500 });
    const error: unknown = await pay({ order: 1, card: '4111111111111111', amount: 900 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PayloadMismatchError);
    const mismatch = error as PayloadMismatchError;
    for (const text of [JSON.stringify(mismatch), inspect(mismatch, { depth: 10 }), String(mismatch.stack)]) {
      expect(text).not.toContain('4000056655665556');
      expect(text).not.toContain('pi_secret_of_tenant_a');
    }
    expect(mismatch.code).toBe('RS_PAYLOAD_MISMATCH');
    expect(mismatch.record).toMatchObject({ state: 'succeeded', attempt: 1, hasResult: true });
    expect(mismatch.record?.fingerprint).toMatch(/^sha256:/);
    expect(mismatch.fullRecord()?.result).toContain('pi_secret_of_tenant_a');
  });
});

describe('finding 9: durations bounded at declaration', () => {
  const declare = (policy: Record<string, number>) => () =>
    fx.rs.operation({ name: 'x', version: 1, key: () => 1, call: () => Promise.resolve(1), ...policy });

  it('refuses a lease or wait a Node timer cannot take, and retention past 10 years', () => {
    expect(declare({ leaseMs: MAX_TIMER_MS + 1 })).toThrow(/leaseMs must be at most 2147483647/);
    expect(declare({ leaseMs: 75 * 86_400_000 })).toThrow(ConfigurationError);
    expect(declare({ waitMs: MAX_TIMER_MS + 1 })).toThrow(/waitMs/);
    expect(declare({ ttlMs: 3_651 * 86_400_000 })).toThrow(/ttlMs must be at most/);
    expect(declare({ tombstoneMs: Number.MAX_SAFE_INTEGER })).toThrow(/tombstoneMs/);
    expect(declare({ leaseMs: MAX_TIMER_MS, attemptTimeoutMs: MAX_TIMER_MS })).not.toThrow();
    expect(declare({ attemptTimeoutMs: MAX_TIMER_MS + 1 })).toThrow(/attemptTimeoutMs must be at most/);
    expect(declare({ maxPayloadBytes: 0 })).toThrow(/maxPayloadBytes/);
    expect(() => fx.client({ defaults: { leaseMs: MAX_TIMER_MS + 1 } })).toThrow(ConfigurationError);
  });

  it('the lease keeper never schedules a timer past the maximum (no heartbeat storm)', async () => {
    let heartbeats = 0;
    const store = {
      heartbeat: () => {
        heartbeats++;
        return Promise.resolve({ ok: false, record: undefined });
      },
    } as unknown as Store;
    const lease: Lease = { key: 'k', attempt: 1, generation: 1, token: 't', leaseUntil: 0 };
    // A lease the policy now refuses; the keeper itself must still not overflow the timer.
    const keeper = new LeaseKeeper(store, lease, 200 * 86_400_000, Date.now(), 400 * 86_400_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await keeper.stop();
    expect(heartbeats).toBe(0);
  });
});

describe('finding 9: payload and result size limits', () => {
  it('a payload over maxPayloadBytes is refused before anything is reserved', async () => {
    let calls = 0;
    const op = fx.rs.operation({
      name: 'big',
      version: 1,
      maxPayloadBytes: 1024,
      key: (n: number) => n,
      payload: (n: number) => ({ blob: 'x'.repeat(n) }),
      call: () => {
        calls++;
        return Promise.resolve('ok');
      },
    });
    const error: unknown = await op(2000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error).toMatchObject({ code: 'RS_PAYLOAD_TOO_LARGE', limit: 1024 });
    expect(calls).toBe(0);
    expect(await fx.rs.list()).toEqual([]);
    await expect(op(100)).resolves.toMatchObject({ value: 'ok' });
  });

  it('the default payload limit is 1 MiB', async () => {
    const op = fx.rs.operation({ name: 'big', version: 1, key: () => 1, call: () => Promise.resolve(1) });
    await expect(op({ blob: 'x'.repeat(1024 * 1024) })).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(await fx.rs.list()).toEqual([]);
  });

  it('a result too large to store keeps the outcome and the provider reference, and says so', async () => {
    let calls = 0;
    const op = fx.rs.operation({
      name: 'report',
      version: 1,
      maxResultBytes: 512,
      key: () => 1,
      call: () => {
        calls++;
        return Promise.resolve({ id: 'rep_1', rows: 'r'.repeat(4096) });
      },
      providerRef: (value) => value.id,
    });
    const first = await op(1);
    expect(first.value.rows).toHaveLength(4096); // the caller that performed the write gets it all
    const record = await fx.rs.get(first.key);
    expect(record).toMatchObject({ state: 'succeeded', result: null, providerRef: 'rep_1' });
    expect(record?.reason).toMatch(/over maxResultBytes \(512\)/);
    // A replay never performs the write again: it is a tombstone hit, naming the reference.
    const replay: unknown = await op(1).catch((e: unknown) => e);
    expect(replay).toBeInstanceOf(TombstoneReplayError);
    expect((replay as Error).message).toContain('rep_1');
    expect(calls).toBe(1);
  });

  it('a result given by hand over the limit is refused, nothing stored', async () => {
    const op = fx.rs.operation({
      name: 'lost',
      version: 1,
      maxResultBytes: 256,
      key: () => 1,
      call: () => Promise.reject(new Error('timeout after send')),
    });
    await expect(op(1)).rejects.toThrow();
    const key = op.keyOf(1);
    await expect(
      fx.rs.resolve(key, {
        state: 'succeeded',
        result: 'x'.repeat(1000),
        providerRef: 'rep_1',
        by: 'ops',
        reason: 'checked',
      }),
    ).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect((await fx.rs.get(key))?.state).toBe('unknown');
  });
});
