import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisStore } from '../../src/stores/redis/index.ts';
import type { Store } from '../../src/stores/types.ts';
import { startReplicatedRedis, type ReplicatedRedis } from '../helpers/redis-replicated.ts';
import { cli, ensureBuilt, json, seed } from './support.ts';

/**
 * The replication options of the Redis store from a CLI store address, against a real primary with a
 * replica: without them every command is refused (the store will not risk a failover losing writes);
 * `replicaAcks` / `replicaAckTimeoutMs` make each write wait for the replica, and
 * `allowUnacknowledgedReplicas` is the explicit opt-out.
 */
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
if (!hasRedis && process.env['CI'] !== undefined && process.env['CI'] !== '') {
  throw new Error('redis-server is not installed; CI requires it (see .ci/run)');
}

describe.skipIf(!hasRedis)('retrysafe CLI on a replicated Redis', () => {
  let redis: ReplicatedRedis;
  const prefix = `rs-cli-repl:${randomUUID()}:`;
  const stores: Store[] = [];
  const clients: Redis[] = [];
  const address = (query = '') => `${redis.url}?prefix=${encodeURIComponent(prefix)}${query}`;
  const run = (query: string, ...args: string[]) => cli(['--store', address(query), ...args]);

  beforeAll(async () => {
    await ensureBuilt();
    redis = await startReplicatedRedis();
  }, 60_000);
  afterAll(async () => {
    for (const store of stores) await store.close();
    for (const client of clients) await client.quit().catch(() => undefined);
    await redis.stop();
  });

  it('refuses the replicated primary without a replication parameter, naming them', async () => {
    for (const args of [
      ['migrate', '--json'],
      ['ls', '--json'],
    ]) {
      const ran = await run('', ...args);
      expect(ran.code, ran.stdout).toBe(2);
      const { error } = json<{ error: { code: string; message: string } }>(ran);
      expect(error.code).toBe('RS_CONFIGURATION');
      expect(error.message).toMatch(/1 connected replica/);
      expect(error.message).toMatch(/replicaAcks/);
    }
  });

  it('migrates with replicaAcks=1, and with allowUnacknowledgedReplicas=true', async () => {
    const acked = await run('&replicaAcks=1', 'migrate', '--json');
    expect(acked.code, acked.stderr).toBe(0);
    expect(json(acked)).toMatchObject({ migrated: true });
    expect(json<{ where: string }>(acked).where).not.toContain('replicaAcks');
    const optedOut = await run('&allowUnacknowledgedReplicas=true', 'migrate', '--json');
    expect(optedOut.code, optedOut.stderr).toBe(0);
    expect((await run('&allowUnacknowledgedReplicas=false', 'migrate')).code).toBe(2);
  });

  it('a resolve waits for the replica: it is there when the CLI answers; asking more replicas than exist fails it', async () => {
    const store = redisStore({ url: redis.url, keyPrefix: prefix, replicaAcks: 1 });
    stores.push(store);
    const { keys } = await seed(store, 'replicated');
    const resolve = [
      'resolve',
      keys.unknown,
      '--succeeded',
      '--ref',
      'ch_1',
      '--by',
      'ann',
      '--reason',
      'seen',
    ];

    // Two replicas asked for, one exists: the resolution is not acknowledged, so the command fails.
    const short = await run('&replicaAcks=2&replicaAckTimeoutMs=100', ...resolve, '--json');
    expect(short.code, short.stdout).toBe(1);
    expect(json<{ error: { code: string; message: string } }>(short).error).toMatchObject({
      code: 'RS_STORE_UNAVAILABLE',
    });
    expect(short.stdout).toMatch(/only 1 of 2 replicas acknowledged it within 100 ms/);

    // The script ran on the primary before the wait fell short: the record moved on, so resolve a
    // record that is still unknown with one replica asked for.
    const ran = await run(
      '&replicaAcks=1',
      'resolve',
      keys.lapsed,
      '--failed',
      '--ref',
      're_1',
      '--by',
      'ann',
      '--reason',
      'declined',
      '--json',
    );
    expect(ran.code, ran.stderr).toBe(0);
    const replica = new Redis(redis.replica.url);
    clients.push(replica);
    const stored = await replica.keys(`${prefix}*r:${keys.lapsed}`);
    expect(stored).toHaveLength(1);
    expect(await replica.hget(stored[0] ?? '', 'state')).toBe('failed');
  });
});
