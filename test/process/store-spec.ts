import type { Store } from '../../src/stores/types.ts';

/** The local servers the suites use (see .ci/run). */
export const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * A store named by one string, so that a worker process can open the same store as the test that
 * spawned it: `sqlite:<file path>`, `postgres:<schema>` or `redis:<key prefix>`.
 */
export type StoreSpec = `sqlite:${string}` | `postgres:${string}` | `redis:${string}`;

function parse(spec: string): { kind: 'sqlite' | 'postgres' | 'redis'; target: string } {
  const at = spec.indexOf(':');
  const kind = spec.slice(0, at);
  const target = spec.slice(at + 1);
  if ((kind === 'sqlite' || kind === 'postgres' || kind === 'redis') && target !== '')
    return { kind, target };
  throw new Error(
    `not a store spec: ${JSON.stringify(spec)} (sqlite:<path>, postgres:<schema>, redis:<prefix>)`,
  );
}

/**
 * Opens the store `spec` names. Store modules are imported on demand so that a worker loads only the
 * driver it needs.
 *
 * @example
 * ```ts
 * const store = await openStore('sqlite:/tmp/run/store.db');
 * ```
 */
export async function openStore(spec: string): Promise<Store> {
  const { kind, target } = parse(spec);
  switch (kind) {
    case 'sqlite': {
      const { sqliteStore } = await import('../../src/stores/sqlite/index.ts');
      return sqliteStore({ path: target });
    }
    case 'postgres': {
      const { postgresStore } = await import('../../src/stores/postgres/index.ts');
      // Eight workers share one server (max_connections 100 by default): keep each pool small.
      return postgresStore({ connectionString: POSTGRES_URL, schema: target, max: 4 });
    }
    case 'redis': {
      const { redisStore } = await import('../../src/stores/redis/index.ts');
      // The local Redis runs without persistence; the store refuses that unless told it is a test.
      return redisStore({ url: REDIS_URL, keyPrefix: target, allowVolatile: true });
    }
  }
}

/**
 * Removes what a server-backed spec left behind (the PostgreSQL schema, the Redis keys under the
 * prefix). A SQLite spec's file lives in a temp dir its test removes.
 */
export async function disposeStoreData(spec: string): Promise<void> {
  const { kind, target } = parse(spec);
  if (kind === 'postgres') {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${target.replaceAll('"', '""')}" CASCADE`);
    } finally {
      await client.end();
    }
  } else if (kind === 'redis') {
    const { Redis } = await import('ioredis');
    const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    try {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${target}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await client.del(...keys);
      } while (cursor !== '0');
    } finally {
      client.disconnect();
    }
  }
}
