import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/errors/errors.ts';
import { ReplicaAcknowledgementError } from '../../src/stores/replica-acknowledgement.ts';
import { recordKeys, redisStore, type RedisStoreOptions } from '../../src/stores/redis/index.ts';
import type { BeginRequest, Store } from '../../src/stores/types.ts';
import {
  clusterShards,
  keySlot,
  startRedisCluster,
  type ClusterShard,
  type RedisCluster,
} from '../helpers/redis-server.ts';

/**
 * `replicaAcks` on a Redis Cluster with replicas (3 primaries, 1 replica each, started by this file):
 * `WAIT` runs on the shard that took the write, so a shard whose replica is stopped fails its writes
 * closed while the other shards go on; and `migrate()` refuses primaries with replicas when no
 * acknowledgement is asked for.
 */
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
if (!hasRedis && process.env['CI'] !== undefined && process.env['CI'] !== '') {
  throw new Error('redis-server is not installed; CI requires it (see .ci/run)');
}

const HOUR_MS = 3_600_000;
const PREFIX = `rs-test-cluster-replicas:${randomUUID()}:`;

function beginRequest(key: string): BeginRequest {
  return {
    key,
    operation: 'cluster-replicated@1',
    fingerprint: 'sha256:aa',
    retryFailed: false,
    token: randomUUID(),
    leaseMs: HOUR_MS,
  };
}

describe.skipIf(!hasRedis)('redis cluster with replicas (3 primaries, 3 replicas)', () => {
  let cluster: RedisCluster;
  let shards: ClusterShard[];
  const clients: (Cluster | Redis)[] = [];
  const stores: Store[] = [];

  const open = (options: Omit<RedisStoreOptions, 'client' | 'url'> = {}): Store => {
    const client = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
    client.on('error', () => undefined);
    clients.push(client);
    const store = redisStore({ client, keyPrefix: PREFIX, allowVolatile: true, ...options });
    stores.push(store);
    return store;
  };
  const seed = (): number => cluster.ports[0] ?? 0;

  /** The shard whose primary serves a record key's slot. */
  const shardOf = async (key: string): Promise<ClusterShard> => {
    const slot = await keySlot(seed(), recordKeys(PREFIX, key).record);
    const shard = shards.find((s) => s.slots.some(([from, to]) => slot >= from && slot <= to));
    if (shard === undefined) throw new Error(`no shard serves slot ${slot}`);
    return shard;
  };
  /** A fresh record key on `shard` (or, with `not`, on any other shard). */
  const keyOn = async (shard: ClusterShard, not = false): Promise<string> => {
    for (;;) {
      const key = `k-${randomUUID()}`;
      if (((await shardOf(key)).primary === shard.primary) !== not) return key;
    }
  };
  const serverAt = (port: number) => {
    const server = cluster.servers.find((candidate) => candidate.port === port);
    if (server === undefined) throw new Error(`no node on port ${port}`);
    return server;
  };

  beforeAll(async () => {
    cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
    shards = await clusterShards(seed());
  }, 60_000);
  afterAll(async () => {
    for (const server of cluster.servers) server.resume();
    for (const store of stores) await store.close();
    for (const client of clients) await client.quit().catch(() => undefined);
    await cluster.stop();
  });

  it('is three shards of one primary and one replica each', () => {
    expect(shards).toHaveLength(3);
    for (const shard of shards) expect(shard.replicas).toHaveLength(1);
  });

  it('refuses at migrate primaries with replicas and no acknowledgement configured, naming the options', async () => {
    const error: unknown = await open()
      .migrate()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/1 connected replica/);
    expect((error as Error).message).toMatch(/replicaAcks/);
    await expect(open({ replicaAcks: 1 }).migrate()).resolves.toBeUndefined();
    await expect(open({ allowUnacknowledgedReplicas: true }).migrate()).resolves.toBeUndefined();
  });

  it('replicaAcks: 1 waits on the shard that took the write: its stopped replica fails it, other shards go on', async () => {
    const store = open({ replicaAcks: 1, replicaAckTimeoutMs: 300 });
    await store.migrate();
    const stopped = shards[0];
    if (stopped === undefined) throw new Error('no shard');
    const onStopped = await keyOn(stopped);
    const elsewhere = await keyOn(stopped, true);
    const elsewhereShard = await shardOf(elsewhere);

    const replica = serverAt(stopped.replicas[0] ?? 0);
    replica.pause();
    try {
      // The other shard's replica acknowledges: reserved, and on that replica when the store answers.
      const begun = await store.begin(beginRequest(elsewhere));
      expect(begun.reserved).toBe(true);
      const reader = new Redis(elsewhereShard.replicas[0] ?? 0, '127.0.0.1');
      clients.push(reader);
      await reader.call('READONLY');
      expect(await reader.hget(recordKeys(PREFIX, elsewhere).record, 'state')).toBe('in_flight');

      // The write's own shard has no replica answering: refused as not acknowledged.
      const error: unknown = await store.begin(beginRequest(onStopped)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReplicaAcknowledgementError);
      expect((error as Error).message).toMatch(/only 0 of 1 replica acknowledged it within 300 ms/);
    } finally {
      replica.resume();
    }
    // Given back at once (nothing was sent under it): once the replica is back, the key reserves again.
    const patient = open({ replicaAcks: 1, replicaAckTimeoutMs: 10_000 });
    await patient.migrate();
    const again = await patient.begin(beginRequest(onStopped));
    expect(again.reserved).toBe(true);
  });
});
