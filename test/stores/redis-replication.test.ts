import { randomUUID } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError, ErrorCode, StoreUnavailableError } from '../../src/errors/errors.ts';
import { retrysafe } from '../../src/index.ts';
import { ReplicaAcknowledgementError } from '../../src/stores/replica-acknowledgement.ts';
import { redisStore, type RedisStoreOptions } from '../../src/stores/redis/index.ts';
import { parseReplicationInfo } from '../../src/stores/redis/replication.ts';
import type { BeginRequest, Store } from '../../src/stores/types.ts';
import { startReplicatedRedis, type ReplicatedRedis } from '../helpers/redis-replicated.ts';

const HOUR_MS = 3_600_000;

function beginRequest(key: string): BeginRequest {
  return {
    key,
    operation: 'replicated@1',
    fingerprint: 'sha256:aa',
    retryFailed: false,
    token: randomUUID(),
    leaseMs: HOUR_MS,
  };
}

describe('parseReplicationInfo', () => {
  it('reads the role and the connected replicas of INFO replication', () => {
    const text =
      '# Replication\r\nrole:master\r\nconnected_slaves:2\r\nslave0:ip=127.0.0.1,port=1,state=online\r\n';
    expect(parseReplicationInfo(text)).toEqual({ role: 'master', connectedReplicas: 2 });
    expect(parseReplicationInfo('role:slave\r\nmaster_host:127.0.0.1\r\n')).toEqual({
      role: 'slave',
      connectedReplicas: 0,
    });
  });

  it('refuses a reply it cannot read', () => {
    expect(() => parseReplicationInfo('nothing here')).toThrow(TypeError);
  });
});

describe('redis store with a replica', () => {
  let redis: ReplicatedRedis;
  const clients: Redis[] = [];
  const stores: Store[] = [];

  beforeAll(async () => {
    redis = await startReplicatedRedis();
  }, 30_000);
  afterAll(async () => {
    for (const store of stores) await store.close();
    for (const client of clients) await client.quit().catch(() => undefined);
    await redis.stop();
  });

  const open = (options: Omit<RedisStoreOptions, 'client' | 'url'> = {}): Store => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 2 });
    client.on('error', () => undefined);
    clients.push(client);
    const store = redisStore({ client, keyPrefix: `rs-repl:${randomUUID()}:`, ...options });
    stores.push(store);
    return store;
  };

  it('refuses at migrate a primary with a replica when no acknowledgement is asked for, naming the option', async () => {
    const error: unknown = await open()
      .migrate()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/1 connected replica/);
    expect((error as Error).message).toMatch(/replicaAcks/);
    expect((error as Error).message).toMatch(/allowUnacknowledgedReplicas: true/);
  });

  it('migrates when told to wait for the replica, or when the risk is accepted explicitly', async () => {
    await expect(open({ replicaAcks: 1 }).migrate()).resolves.toBeUndefined();
    await expect(open({ allowUnacknowledgedReplicas: true }).migrate()).resolves.toBeUndefined();
  });

  it('with replicaAcks, a reservation and its outcome are on the replica when the store answers', async () => {
    const store = open({ replicaAcks: 1 });
    await store.migrate();
    const key = `k-${randomUUID()}`;
    const begun = await store.begin(beginRequest(key));
    if (!begun.reserved) throw new Error('expected a reservation');
    const settled = await store.settle(begun.lease, {
      state: 'succeeded',
      result: '{"ok":true}',
      ttlMs: HOUR_MS,
      tombstoneMs: HOUR_MS,
    });
    expect(settled.ok).toBe(true);
    // Read the replica directly, without a client of the store: WAIT returned, so it holds the write.
    const replica = new Redis(redis.replica.url);
    clients.push(replica);
    const keys = await replica.keys(`*r:${key}`);
    expect(keys).toHaveLength(1);
    expect(await replica.hget(keys[0] ?? '', 'state')).toBe('succeeded');
  });

  it('while the link is cut: the reservation fails closed, is given back, and the provider is never called', async () => {
    const store = open({ replicaAcks: 1, replicaAckTimeoutMs: 200 });
    await store.migrate();
    const rs = retrysafe({ store, namespace: 'repl', migrate: false });
    let calls = 0;
    const charge = rs.operation<{ id: string }, string>({
      name: 'charge',
      version: 1,
      key: (input) => ({ id: input.id }),
      payload: (input) => input,
      call: () => {
        calls++;
        return Promise.resolve('charged');
      },
    });
    const id = randomUUID();
    redis.link.cut();
    try {
      const error: unknown = await charge({ id }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).code).toBe(ErrorCode.StoreUnavailable);
      expect((error as Error).cause).toBeInstanceOf(ReplicaAcknowledgementError);
      expect(calls).toBe(0);
    } finally {
      redis.link.restore();
    }
    await redis.inSync();
    // Given back, not left in flight to lapse into an unknown outcome: the next call performs at once.
    const retried = await charge({ id });
    expect(retried).toMatchObject({ value: 'charged', replayed: false });
    expect(calls).toBe(1);
  });

  it('an outcome not acknowledged is reported as not recorded, not retried as a stale write', async () => {
    const store = open({ replicaAcks: 1, replicaAckTimeoutMs: 200 });
    await store.migrate();
    const rs = retrysafe({ store, namespace: 'repl', migrate: false });
    const failures: unknown[] = [];
    const leaseLost: unknown[] = [];
    const onFailed = (message: unknown): void => void failures.push(message);
    const onLost = (message: unknown): void => void leaseLost.push(message);
    diagnostics.subscribe('retrysafe:settle-failed', onFailed);
    diagnostics.subscribe('retrysafe:lease-lost', onLost);
    const charge = rs.operation<{ id: string }, string>({
      name: 'charge',
      version: 1,
      key: (input) => ({ id: input.id }),
      payload: (input) => input,
      call: () => {
        // The link breaks while the provider performs the write.
        redis.link.cut();
        return Promise.resolve('charged');
      },
    });
    try {
      const result = await charge({ id: randomUUID() });
      expect(result.value).toBe('charged');
      expect(failures).toHaveLength(1);
      expect((failures[0] as { error: Error }).error.cause).toBeInstanceOf(ReplicaAcknowledgementError);
      expect(leaseLost).toHaveLength(0);
    } finally {
      redis.link.restore();
      await redis.inSync();
      diagnostics.unsubscribe('retrysafe:settle-failed', onFailed);
      diagnostics.unsubscribe('retrysafe:lease-lost', onLost);
    }
  });
});

describe('redis failover', () => {
  it('keeps an acknowledged reservation across a failover; without acknowledgement the same one is lost', async () => {
    const redis = await startReplicatedRedis();
    const clients: Redis[] = [];
    const stores: Store[] = [];
    try {
      const open = (options: Omit<RedisStoreOptions, 'client' | 'url'>): Store => {
        const client = new Redis(redis.url, { maxRetriesPerRequest: 2 });
        client.on('error', () => undefined);
        clients.push(client);
        const store = redisStore({ client, keyPrefix: 'rs-failover:', ...options });
        stores.push(store);
        return store;
      };
      const protectedStore = open({ replicaAcks: 1, replicaAckTimeoutMs: 2_000 });
      const unprotected = open({ allowUnacknowledgedReplicas: true });
      await protectedStore.migrate();
      await unprotected.migrate();

      const kept = `kept-${randomUUID()}`;
      const begun = await protectedStore.begin(beginRequest(kept));
      expect(begun.reserved).toBe(true);
      // Then the link breaks; what the unprotected store reserves now is only on the primary.
      redis.link.cut();
      const lost = `lost-${randomUUID()}`;
      expect((await unprotected.begin(beginRequest(lost))).reserved).toBe(true);
      await redis.failover();

      const after = open({ replicaAcks: 1, replicaAckTimeoutMs: 2_000 });
      await after.migrate();
      expect((await after.get(kept))?.state).toBe('in_flight');
      // The failure mode the option exists for: the acknowledged-by-nobody reservation is gone.
      expect(await after.get(lost)).toBeUndefined();
    } finally {
      for (const store of stores) await store.close();
      for (const client of clients) await client.quit().catch(() => undefined);
      await redis.stop();
    }
  }, 60_000);
});
