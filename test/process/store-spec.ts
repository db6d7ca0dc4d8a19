import type { Store } from '../../src/stores/types.ts';

/** The local servers the suites use (see .ci/run). */
export const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = 'redis://127.0.0.1:6379';

/** A test-owned PostgreSQL cluster on 127.0.0.1:`port` (its maintenance database, user postgres, trust). */
export const postgresUrlAt = (port: number): string => `postgres://postgres@127.0.0.1:${port}/postgres`;
/** A test-owned Redis server on 127.0.0.1:`port`. */
export const redisUrlAt = (port: number): string => `redis://127.0.0.1:${port}`;

/**
 * A store named by one string, so that a worker process can open the same store as the test that
 * spawned it: `sqlite:<file path>`, `postgres:<schema>` or `redis:<key prefix>`. A PostgreSQL or Redis
 * spec may end in `@<port>` to use a test-owned server on 127.0.0.1 instead of the shared one
 * (`postgres:<schema>@<port>`, `redis:<key prefix>@<port>`). Such a Redis server must keep an
 * append-only file: the store is opened without `allowVolatile`, so it checks.
 */
export type StoreSpec = `sqlite:${string}` | `postgres:${string}` | `redis:${string}`;

interface ParsedSpec {
  readonly kind: 'sqlite' | 'postgres' | 'redis';
  readonly target: string;
  /** A test-owned server's port, or undefined for the shared server. */
  readonly port: number | undefined;
}

function parse(spec: string): ParsedSpec {
  const at = spec.indexOf(':');
  const kind = spec.slice(0, at);
  let target = spec.slice(at + 1);
  let port: number | undefined;
  const server = /^(.*)@(\d{1,5})$/.exec(target);
  if (server !== null && kind !== 'sqlite') {
    target = server[1] ?? '';
    port = Number(server[2]);
  }
  if ((kind === 'sqlite' || kind === 'postgres' || kind === 'redis') && target !== '')
    return { kind, target, port };
  throw new Error(
    `not a store spec: ${JSON.stringify(spec)} (sqlite:<path>, postgres:<schema>[@<port>], redis:<prefix>[@<port>])`,
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
  const { kind, target, port } = parse(spec);
  switch (kind) {
    case 'sqlite': {
      const { sqliteStore } = await import('../../src/stores/sqlite/index.ts');
      return sqliteStore({ path: target });
    }
    case 'postgres': {
      const { postgresStore } = await import('../../src/stores/postgres/index.ts');
      // Eight workers share one server (max_connections 100 by default): keep each pool small.
      const connectionString = port === undefined ? POSTGRES_URL : postgresUrlAt(port);
      return postgresStore({ connectionString, schema: target, max: 4 });
    }
    case 'redis': {
      const { redisStore } = await import('../../src/stores/redis/index.ts');
      // The shared Redis runs without persistence; the store refuses that unless told it is a test.
      if (port === undefined) return redisStore({ url: REDIS_URL, keyPrefix: target, allowVolatile: true });
      // A test-owned server is there to be durable: let the store check that it is.
      return redisStore({ url: redisUrlAt(port), keyPrefix: target });
    }
  }
}

/**
 * Removes what a server-backed spec left behind (the PostgreSQL schema, the Redis keys under the
 * prefix). A SQLite spec's file lives in a temp dir its test removes.
 */
export async function disposeStoreData(spec: string): Promise<void> {
  const { kind, target, port } = parse(spec);
  if (kind === 'postgres') {
    const { default: pg } = await import('pg');
    const client = new pg.Client({
      connectionString: port === undefined ? POSTGRES_URL : postgresUrlAt(port),
    });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${target.replaceAll('"', '""')}" CASCADE`);
    } finally {
      await client.end();
    }
  } else if (kind === 'redis') {
    const { Redis } = await import('ioredis');
    const client = new Redis(port === undefined ? REDIS_URL : redisUrlAt(port), {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
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
