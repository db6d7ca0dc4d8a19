import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { postgresStore } from '../../src/stores/postgres/index.ts';
import { redisStore } from '../../src/stores/redis/index.ts';
import { sqliteStore } from '../../src/stores/sqlite/index.ts';
import type { Store } from '../../src/stores/types.ts';
import { serviceGate } from '../helpers/services.ts';

/** One of the three stores, on data of its own (a temp file, a schema, a key prefix). */
export interface StoreKind {
  readonly name: string;
  /** A store on shared state: every call opens another connection to the same data. */
  readonly open: () => Store;
  readonly cleanup: () => Promise<void>;
}

function sqliteKind(label: string): StoreKind {
  const dir = mkdtempSync(path.join(tmpdir(), `retrysafe-${label}-`));
  const file = path.join(dir, 'store.db');
  return {
    name: 'sqlite',
    open: () => sqliteStore({ path: file }),
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

function postgresKind(label: string): StoreKind {
  const pool = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:5432/test', max: 4 });
  const schema = `rs_${label}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  return {
    name: 'postgres',
    open: () => postgresStore({ pool, schema }),
    cleanup: async () => {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}

function redisKind(label: string): StoreKind {
  const prefix = `rs-test-${label}:${randomUUID()}:`;
  const clients: Redis[] = [];
  return {
    name: 'redis',
    open: () => {
      const client = new Redis('redis://127.0.0.1:6379');
      clients.push(client);
      return redisStore({ client, keyPrefix: prefix, allowVolatile: true });
    },
    cleanup: async () => {
      const first = clients[0];
      if (first !== undefined) {
        let cursor = '0';
        do {
          const [next, keys] = await first.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await first.unlink(...keys);
        } while (cursor !== '0');
      }
      for (const client of clients) await client.quit();
    },
  };
}

/**
 * The stores a suite runs on, for `describe.each`: SQLite always, PostgreSQL and Redis when they
 * answer (under CI a missing one fails the run: `serviceGate`). `label` names the data (letters only).
 *
 * @example
 * ```ts
 * describe.each(await storeKinds('burned'))('on %s', (_name, make) => { const kind = make(); ... });
 * ```
 */
export async function storeKinds(label: string): Promise<[string, () => StoreKind][]> {
  const postgresUp = await serviceGate('PostgreSQL', 5432);
  const redisUp = await serviceGate('Redis', 6379);
  return [
    ['sqlite', () => sqliteKind(label)],
    ...(postgresUp ? [['postgres', () => postgresKind(label)] as [string, () => StoreKind]] : []),
    ...(redisUp ? [['redis', () => redisKind(label)] as [string, () => StoreKind]] : []),
  ];
}
