import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordKeys, redisStore } from '../../src/stores/redis/index.ts';
import type { Store } from '../../src/stores/types.ts';
import { runStoreContract } from '../../src/testing/index.ts';
import { beginRequest } from '../../src/testing/contract/support.ts';
import { DURABLE_ARGS, startRedisServer, type RedisServer } from '../helpers/redis-server.ts';

/**
 * The Redis recipe of docs/security.md on a private redis-server: the application's ACL user may run
 * the store (the whole contract suite runs as it) but cannot rewrite or remove an audit list. Audit
 * lists (`<prefix>{<bucket>}:a:<key>`) are reachable only through a selector that allows appending and
 * reading (and EVALSHA, whose scripts' own commands are checked again); every other key of the store
 * through the root permissions, without the dangerous commands.
 */
export function aclRules(prefix: string, password: string): string[] {
  return [
    'on',
    `>${password}`,
    'resetkeys',
    'resetchannels',
    '-@all',
    '+@all',
    '-@dangerous',
    // Read-only introspection the store runs at start (persistence check).
    '+config|get',
    '+info',
    `~${prefix}{*}:r:*`,
    `~${prefix}{*}:s:*`,
    `~${prefix}{*}:exp`,
    `~${prefix}{*}:tomb`,
    `~${prefix}{*}:ov`,
    `~${prefix}meta`,
    `&${prefix}{*}:c:*`,
    // EVALSHA names a record's keys and its audit list together: allowed on every key of the store.
    // Each command a script runs is checked again, so a script can do no more than the rules here.
    `(~${prefix}* -@all +evalsha)`,
    // The audit lists: append and read, nothing else (no LSET, LREM, LTRIM, DEL, EXPIRE, RENAME).
    `(~${prefix}{*}:a:* -@all +rpush +lrange +llen)`,
  ];
}

describe('Redis with an ACL user that cannot rewrite the audit log', () => {
  const prefix = 'app:';
  const password = randomUUID();
  let server: RedisServer | undefined;
  let admin: Redis | undefined;
  let app: Redis | undefined;
  let store: Store | undefined;

  beforeAll(async () => {
    server = await startRedisServer({ args: DURABLE_ARGS });
    admin = new Redis(server.url);
    await admin.call('ACL', 'SETUSER', 'retrysafe-app', ...aclRules(prefix, password));
    app = new Redis({ port: server.port, host: '127.0.0.1', username: 'retrysafe-app', password });
    store = redisStore({ client: app, keyPrefix: prefix });
  });

  afterAll(async () => {
    await store?.close();
    app?.disconnect();
    admin?.disconnect();
    await server?.stop();
  });

  const appStore = (): Store => {
    if (store === undefined) throw new Error('the store is created in beforeAll');
    return store;
  };

  runStoreContract({
    name: 'redis as an ACL user',
    runner: { describe, it, beforeAll, afterAll },
    create: () => Promise.resolve(appStore()),
    destroy: () => Promise.resolve(),
  });

  it('refuses LSET, LREM, LTRIM, DEL, UNLINK, EXPIRE, RENAME and FLUSHALL on the audit list, also inside a script', async () => {
    const key = `acl:${randomUUID()}`;
    const begun = await appStore().begin(beginRequest(key));
    if (!begun.reserved) throw new Error('expected a reservation');
    await appStore().settle(begun.lease, { state: 'succeeded', ttlMs: 1, tombstoneMs: 1 });
    await appStore().settle(begun.lease, { state: 'failed', ttlMs: 1, tombstoneMs: 1 });
    const before = await appStore().audit(key);
    expect(before.map((entry) => entry.event)).toEqual(['late_write']);

    const names = recordKeys(prefix, key);
    const client = app;
    if (client === undefined) throw new Error('no app connection');
    const rewrites: (string | number)[][] = [
      ['LSET', names.audit, 0, '{}'],
      ['LREM', names.audit, 0, 'x'],
      ['LTRIM', names.audit, 1, 0],
      ['LPOP', names.audit],
      ['DEL', names.audit],
      ['UNLINK', names.audit],
      ['PEXPIRE', names.audit, 1],
      ['RENAME', names.audit, names.record],
      ['FLUSHALL'],
      ['EVAL', "return redis.call('DEL', KEYS[1])", 1, names.audit],
    ];
    // A script of one's own fares no better: its commands are checked against the same rules.
    const sha = String(await client.call('SCRIPT', 'LOAD', "return redis.call('LSET', KEYS[1], 0, '{}')"));
    rewrites.push(['EVALSHA', sha, 1, names.audit]);
    for (const [command, ...args] of rewrites) {
      await expect(client.call(String(command), ...args), String(command)).rejects.toThrow(
        /NOPERM|user executing the script can/,
      );
    }
    // The store itself still works on the key (gc deletes the record; the audit list stays).
    await new Promise((resolve) => setTimeout(resolve, 20));
    await appStore().gc();
    expect(await appStore().get(key)).toBeUndefined();
    expect(await appStore().audit(key)).toEqual(before);
    expect(await admin?.llen(names.audit)).toBe(1);
  });
});
