import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../../src/errors/errors.ts';
import { recordKeys, redisStore } from '../../src/stores/redis/index.ts';
import type { BeginRequest, Store } from '../../src/stores/types.ts';
import { runStoreContract } from '../../src/testing/index.ts';
import { DURABLE_ARGS, startRedisServer, type RedisServer } from '../helpers/redis-server.ts';
import { serviceGate } from '../helpers/services.ts';

const available = await serviceGate('Redis', 6379);
const SHARED_URL = 'redis://127.0.0.1:6379';
/** Everything this file writes to the shared server lives under this prefix and is removed after. */
const PREFIX = `rs-test-redis:${randomUUID()}:`;
const HOUR_MS = 3_600_000;

async function removePrefixed(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== '0');
}

function beginRequest(key: string, overrides: Partial<BeginRequest> = {}): BeginRequest {
  return {
    key,
    operation: 'redis-test@1',
    fingerprint: 'sha256:aa',
    retryFailed: false,
    token: randomUUID(),
    leaseMs: HOUR_MS,
    ...overrides,
  };
}

async function serverTime(client: Redis): Promise<number> {
  const [seconds, micros] = await client.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

if (available) {
  const clients: Redis[] = [];
  runStoreContract({
    name: 'redis',
    runner: { describe, it, beforeAll, afterAll },
    create: () => {
      const client = new Redis(SHARED_URL);
      clients.push(client);
      return Promise.resolve(redisStore({ client, keyPrefix: `${PREFIX}contract:`, allowVolatile: true }));
    },
    eraseLeaseEnd: async (key) => {
      const client = clients[0];
      if (client === undefined) throw new Error('the contract store was not created');
      await client.hdel(recordKeys(`${PREFIX}contract:`, key).record, 'leaseUntil');
    },
    destroy: async (store) => {
      await store.close();
      for (const client of clients) {
        await removePrefixed(client, `${PREFIX}contract:`);
        await client.quit();
      }
    },
  });
}

describe.skipIf(!available)('redis store', () => {
  let client: Redis;
  const stores: Store[] = [];
  const open = (options: Partial<Parameters<typeof redisStore>[0]> = {}): Store => {
    const store = redisStore({
      client,
      keyPrefix: `${PREFIX}own:`,
      allowVolatile: true,
      ...options,
    } as never);
    stores.push(store);
    return store;
  };

  beforeAll(() => {
    client = new Redis(SHARED_URL);
  });
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await removePrefixed(client, `${PREFIX}own:`);
    await client.quit();
  });

  it('refuses the volatile test server without allowVolatile, saying what to configure', async () => {
    const store = open({ allowVolatile: false });
    const refusal = await store.migrate().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(ConfigurationError);
    const message = (refusal as Error).message;
    for (const advice of ['appendonly yes', 'appendfsync always', 'appendfsync everysec', 'allowVolatile']) {
      expect(message).toContain(advice);
    }
    // Every use is refused, not just migrate: nothing is reserved on a server that forgets.
    await expect(store.begin(beginRequest(`${PREFIX}refused`))).rejects.toBeInstanceOf(ConfigurationError);
    expect(await client.exists(recordKeys(`${PREFIX}own:`, `${PREFIX}refused`).record)).toBe(0);
  });

  it('rejects a key prefix with braces and ambiguous client options', () => {
    expect(() => redisStore({ client, keyPrefix: 'a{b}:' })).toThrow(ConfigurationError);
    expect(() => redisStore({ client, url: SHARED_URL } as never)).toThrow(ConfigurationError);
  });

  it('creates and quits its own ioredis client from a URL', async () => {
    const store = redisStore({ url: SHARED_URL, keyPrefix: `${PREFIX}own:`, allowVolatile: true });
    const begun = await store.begin(beginRequest(`${PREFIX}from-url`));
    expect(begun.reserved).toBe(true);
    await store.close();
    await expect(store.get(`${PREFIX}from-url`)).rejects.toThrow(/closed/);
  });

  it('reloads its scripts after SCRIPT FLUSH (NOSCRIPT) and carries on', async () => {
    const store = open();
    await store.migrate();
    const key = `${PREFIX}noscript`;
    const begun = await store.begin(beginRequest(key));
    if (!begun.reserved) throw new Error('expected a reservation');
    await client.script('FLUSH');
    const done = await store.settle(begun.lease, {
      state: 'succeeded',
      result: '{}',
      ttlMs: HOUR_MS,
      tombstoneMs: HOUR_MS,
    });
    expect(done.ok).toBe(true);
    expect((await store.get(key))?.state).toBe('succeeded');
  });

  it('gives settled records a PEXPIREAT, in-flight or unknown records none, and audit logs their own retention', async () => {
    const graceMs = 60_000;
    const store = open({ expiryGraceMs: graceMs });
    const key = `${PREFIX}expiry`;
    const names = recordKeys(`${PREFIX}own:`, key);
    const expiry = async (name: string): Promise<number> => Number(await client.call('PEXPIRETIME', name));

    const begun = await store.begin(beginRequest(key));
    if (!begun.reserved) throw new Error('expected a reservation');
    expect(await expiry(names.record)).toBe(-1);
    // Nothing is logged on the routine path: no audit list yet.
    expect(await expiry(names.audit)).toBe(-2);

    const unknown = { state: 'unknown', result: null, reason: 'timeout', ttlMs: 1, tombstoneMs: 1 } as const;
    expect((await store.settle(begun.lease, unknown)).ok).toBe(true);
    expect(await expiry(names.record)).toBe(-1);
    expect(await client.pttl(names.record)).toBe(-1);

    const claimed = await store.reclaim({
      key,
      attempt: 1,
      token: randomUUID(),
      leaseMs: HOUR_MS,
      reason: 'absent',
    });
    if (!claimed.ok) throw new Error('expected to reclaim');
    expect(await expiry(names.record)).toBe(-1);

    const done = await store.settle(claimed.lease, {
      state: 'succeeded',
      result: '{"id":1}',
      ttlMs: 10_000,
      tombstoneMs: 20_000,
    });
    if (!done.ok) throw new Error('expected to settle');
    const expected = (done.record.tombstoneUntil ?? 0) + graceMs;
    expect(await expiry(names.record)).toBe(expected);
    // The audit log is evidence with a retention of its own: by default it never expires.
    expect(await expiry(names.audit)).toBe(-1);
    expect(await client.pttl(names.record)).toBeGreaterThan(0);

    // A log first written after the record has its tombstone (a late write) does not expire either.
    const other = `${PREFIX}expiry-late`;
    const otherNames = recordKeys(`${PREFIX}own:`, other);
    const second = await store.begin(beginRequest(other));
    if (!second.reserved) throw new Error('expected a reservation');
    const settledOther = await store.settle(second.lease, {
      state: 'succeeded',
      ttlMs: 10_000,
      tombstoneMs: 20_000,
    });
    if (!settledOther.ok) throw new Error('expected to settle');
    expect(await expiry(otherNames.audit)).toBe(-2);
    expect((await store.settle(second.lease, { state: 'failed', ttlMs: 1, tombstoneMs: 1 })).ok).toBe(false);
    expect(await expiry(otherNames.audit)).toBe(-1);
    expect(await client.llen(otherNames.audit)).toBe(1);
  });

  it('auditRetentionMs makes an audit log expire that long after its latest entry, apart from the record', async () => {
    const retentionMs = 400 * 24 * HOUR_MS;
    const store = open({ auditRetentionMs: retentionMs, expiryGraceMs: 1 });
    const key = `${PREFIX}audit-retention`;
    const names = recordKeys(`${PREFIX}own:`, key);
    const begun = await store.begin(beginRequest(key));
    if (!begun.reserved) throw new Error('expected a reservation');
    const done = await store.settle(begun.lease, { state: 'succeeded', ttlMs: 1, tombstoneMs: 1 });
    if (!done.ok) throw new Error('expected to settle');
    const before = await serverTime(client);
    expect((await store.settle(begun.lease, { state: 'failed', ttlMs: 1, tombstoneMs: 1 })).ok).toBe(false);
    const after = await serverTime(client);
    const expires = Number(await client.call('PEXPIRETIME', names.audit));
    expect(expires).toBeGreaterThanOrEqual(before + retentionMs);
    expect(expires).toBeLessThanOrEqual(after + retentionMs);
    // The record goes (gc at its tombstone's end); the log stays.
    await sleep(20);
    await store.gc();
    expect(await store.get(key)).toBeUndefined();
    expect((await store.audit(key)).map((entry) => entry.event)).toEqual(['late_write']);
    expect(() => redisStore({ client, auditRetentionMs: 0, allowVolatile: true })).toThrow(
      /auditRetentionMs/,
    );
  });

  it('computes leases on the server clock whatever the client clock says', async () => {
    const store = open();
    await store.migrate();
    const leaseMs = 120_000;
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      for (const skewMs of [10 * 60_000, -10 * 60_000]) {
        vi.setSystemTime(new Date(Date.now() + skewMs));
        const key = `${PREFIX}skew:${String(skewMs)}`;
        const before = await serverTime(client);
        const begun = await store.begin(beginRequest(key, { leaseMs }));
        const after = await serverTime(client);
        if (!begun.reserved) throw new Error('expected a reservation');
        expect(begun.lease.leaseUntil).toBeGreaterThanOrEqual(before + leaseMs);
        expect(begun.lease.leaseUntil).toBeLessThanOrEqual(after + leaseMs);
        // A skewed worker cannot declare the live lease lapsed either.
        expect((await store.markUnknown(key, 1, 'my clock says it lapsed')).ok).toBe(false);
        vi.setSystemTime(new Date(Date.now() - skewMs));
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it('wakes a waiter by pub/sub long before its polling interval', async () => {
    const waiting = open({ pollIntervalMs: 120_000 });
    const settling = open();
    const key = `${PREFIX}wake`;
    const { lease } = await (async () => {
      const begun = await settling.begin(beginRequest(key));
      if (!begun.reserved) throw new Error('expected a reservation');
      return begun;
    })();
    const seen = await waiting.begin(beginRequest(key));
    expect(seen.reserved).toBe(false);

    const timeoutMs = 60_000;
    const woken = waiting.waitForChange?.(key, timeoutMs).then(() => 'woken' as const);
    if (woken === undefined) throw new Error('the Redis store must offer waitForChange');
    // Settle only once the waiter's subscription is in place.
    const channel = recordKeys(`${PREFIX}own:`, key).channel;
    while (((await client.pubsub('NUMSUB', channel)) as [string, number])[1] < 1) await sleep(5);
    // Let the waiter's one re-read after subscribing finish first, so only the message can wake it.
    await sleep(100);
    expect(
      (
        await settling.settle(lease, {
          state: 'succeeded',
          result: '{}',
          ttlMs: HOUR_MS,
          tombstoneMs: HOUR_MS,
        })
      ).ok,
    ).toBe(true);

    const cutoff = new AbortController();
    const outcome = await Promise.race([
      woken,
      sleep(timeoutMs / 2, 'still waiting' as const, { signal: cutoff.signal }).catch(
        () => 'aborted' as const,
      ),
    ]);
    cutoff.abort();
    expect(outcome).toBe('woken');
  });
});

describe.skipIf(!available)('redis store durability on servers it does not share', () => {
  let durable: RedisServer | undefined;
  let restricted: RedisServer | undefined;

  afterAll(async () => {
    await durable?.stop();
    await restricted?.stop();
  });

  it('accepts an AOF server and keeps every record across a restart', async () => {
    durable = await startRedisServer({ args: DURABLE_ARGS });
    const first = new Redis(durable.url);
    const store = redisStore({ client: first, keyPrefix: 'durable:' });
    await store.migrate();
    const begun = await store.begin(beginRequest('settled'));
    if (!begun.reserved) throw new Error('expected a reservation');
    const settled = await store.settle(begun.lease, {
      state: 'succeeded',
      result: '{"id":"ch_1"}',
      providerRef: 'ch_1',
      ttlMs: HOUR_MS,
      tombstoneMs: HOUR_MS,
    });
    // Refused (already settled): a late_write audit entry, which must survive the restart too.
    expect(
      (await store.settle(begun.lease, { state: 'failed', ttlMs: HOUR_MS, tombstoneMs: HOUR_MS })).ok,
    ).toBe(false);
    const inFlight = await store.begin(beginRequest('in-flight'));
    const auditBefore = await store.audit('settled');
    expect(auditBefore.map((entry) => entry.event)).toEqual(['late_write']);
    await store.close();
    await first.quit();

    await durable.restart();
    const second = new Redis(durable.url);
    const reopened = redisStore({ client: second, keyPrefix: 'durable:' });
    await reopened.migrate();
    expect(settled.ok && (await reopened.get('settled'))).toEqual(settled.ok && settled.record);
    expect(await reopened.get('in-flight')).toEqual(inFlight.record);
    expect(await reopened.audit('settled')).toEqual(auditBefore);

    // The same server with fsync left to the OS is refused.
    await second.config('SET', 'appendfsync', 'no');
    const loose = redisStore({ client: second, keyPrefix: 'durable:' });
    await expect(loose.migrate()).rejects.toThrow(/appendfsync no/);
    await reopened.close();
    await loose.close();
    await second.quit();
  });

  it('refuses a server whose CONFIG is disabled unless durability is asserted', async () => {
    restricted = await startRedisServer({ args: [...DURABLE_ARGS, '--rename-command', 'CONFIG', ''] });
    const client = new Redis(restricted.url);
    try {
      const guessing = redisStore({ client, keyPrefix: 'managed:' });
      await expect(guessing.migrate()).rejects.toThrow(/CONFIG GET was refused.*durability: 'aof-always'/s);
      const asserted = redisStore({ client, keyPrefix: 'managed:', durability: 'aof-everysec' });
      await asserted.migrate();
      expect((await asserted.begin(beginRequest('k'))).reserved).toBe(true);
      await guessing.close();
      await asserted.close();
    } finally {
      await client.quit();
    }
  });
});
