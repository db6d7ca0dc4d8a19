import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { Cluster } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisStore, recordKeys } from '../../src/stores/redis/index.ts';
import { runStoreContract } from '../../src/testing/index.ts';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-server.ts';

/**
 * The contract suite against a 3-primary Redis Cluster started by this file: every key of a record
 * shares one hash tag, so each transition stays one atomic script on one node, and the cross-key
 * queries (list, gc, overrides) visit every bucket across the nodes.
 */
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
const ciRequires = process.env['CI'] !== undefined && process.env['CI'] !== '';
if (!hasRedis && ciRequires) throw new Error('redis-server is not installed; CI requires it (see .ci/run)');
if (!hasRedis) console.warn('skipping Redis Cluster suites: redis-server is not installed');

const PREFIX = `rs-test-cluster:${randomUUID()}:`;

describe.skipIf(!hasRedis)('redis cluster (3 primaries)', () => {
  let cluster: RedisCluster | undefined;
  const clients: Cluster[] = [];
  const connect = (): Cluster => {
    if (cluster === undefined) throw new Error('the cluster did not start');
    const client = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    cluster = await startRedisCluster({ primaries: 3 });
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.quit()));
    await cluster?.stop();
  });

  // The cluster's nodes keep nothing on disk: volatile is fine for a throwaway cluster.
  runStoreContract({
    name: 'redis cluster',
    runner: { describe, it, beforeAll, afterAll },
    create: () =>
      Promise.resolve(
        redisStore({ client: connect(), keyPrefix: `${PREFIX}contract:`, allowVolatile: true }),
      ),
  });

  it('wakes a waiter by pub/sub on a cluster, whichever node its subscriber connected to', async () => {
    const options = { keyPrefix: `${PREFIX}wake:`, allowVolatile: true } as const;
    const waiting = redisStore({ client: connect(), ...options, pollIntervalMs: 120_000 });
    const settling = redisStore({ client: connect(), ...options });
    const probe = connect();
    try {
      const key = `wake:${randomUUID()}`;
      const begun = await settling.begin({
        key,
        operation: 'cluster-wake@1',
        fingerprint: 'sha256:aa',
        retryFailed: false,
        token: randomUUID(),
        leaseMs: 3_600_000,
      });
      if (!begun.reserved) throw new Error('expected a reservation');
      const timeoutMs = 60_000;
      const woken = waiting.waitForChange?.(key, timeoutMs).then(() => 'woken' as const);
      if (woken === undefined) throw new Error('the Redis store must offer waitForChange');
      // PUBSUB NUMSUB is per node; wait until some primary reports the waiter's subscription.
      const channel = recordKeys(options.keyPrefix, key).channel;
      const subscribed = async (): Promise<boolean> => {
        const counts = await Promise.all(
          probe
            .nodes('master')
            .map(async (node) => ((await node.pubsub('NUMSUB', channel)) as [string, number])[1]),
        );
        return counts.some((count) => count > 0);
      };
      while (!(await subscribed())) await sleep(5);
      await sleep(100);
      const done = await settling.settle(begun.lease, {
        state: 'succeeded',
        result: '{}',
        ttlMs: 3_600_000,
        tombstoneMs: 3_600_000,
      });
      expect(done.ok).toBe(true);
      const cutoff = new AbortController();
      const outcome = await Promise.race([
        woken,
        sleep(timeoutMs / 2, 'still waiting' as const, { signal: cutoff.signal }).catch(
          () => 'aborted' as const,
        ),
      ]);
      cutoff.abort();
      expect(outcome).toBe('woken');
    } finally {
      await waiting.close();
      await settling.close();
    }
  });
});

describe('redis cluster key layout', () => {
  it('puts every key of a record under one hash tag, and spreads records over the buckets', () => {
    const slots = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const names = recordKeys(PREFIX, `rs1:billing:charge-order@1:-:${String(i)}`);
      const tags = [...names.scriptKeys, names.channel].map((name) => /\{([^}]+)\}/.exec(name)?.[1]);
      expect(new Set(tags).size).toBe(1);
      slots.add(tags[0] ?? '');
    }
    expect(slots.size).toBeGreaterThan(50);
  });
});
