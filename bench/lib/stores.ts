import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Store } from '../../src/index.ts';
import { postgresStore } from '../../src/stores/postgres/index.ts';
import { redisStore } from '../../src/stores/redis/index.ts';
import { sqliteStore } from '../../src/stores/sqlite/index.ts';
import type { SqliteDatabase } from '../../src/stores/sqlite/index.ts';
import type { BenchEnv } from './env.ts';
import type { StoreKind } from './rows.ts';

/** Where one store's data lives: serializable, so a worker process can open the same store. */
export type Location =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly schema: string }
  | { readonly kind: 'redis'; readonly url: string; readonly prefix: string; readonly volatile: boolean };

/** Driver-level work, counted when a store is opened for profiling. */
export interface Counters {
  /** PostgreSQL queries or Redis commands sent: each is one network round trip. */
  roundTrips: number;
  /** SQLite write transactions (`BEGIN IMMEDIATE ... COMMIT`), each one fsync of the WAL. */
  transactions: number;
  /** SQLite statements executed. */
  statements: number;
  /** Time spent inside the driver: PostgreSQL queries, Redis commands, SQLite transactions (ms). */
  driverMs: number;
  readonly byCommand: Map<string, number>;
}

export function newCounters(): Counters {
  return { roundTrips: 0, transactions: 0, statements: 0, driverMs: 0, byCommand: new Map() };
}

export function resetCounters(counters: Counters): void {
  counters.roundTrips = 0;
  counters.transactions = 0;
  counters.statements = 0;
  counters.driverMs = 0;
  counters.byCommand.clear();
}

function tally(counters: Counters, name: string): void {
  counters.byCommand.set(name, (counters.byCommand.get(name) ?? 0) + 1);
}

/** A fresh location for `label` in this run: its own SQLite file, PostgreSQL schema or Redis key prefix. */
export function newLocation(kind: StoreKind, env: BenchEnv, label: string): Location {
  const name = `${label}_${env.runId}`.replace(/[^a-z0-9_]/g, '_');
  switch (kind) {
    case 'sqlite':
      return { kind, path: join(env.dir, `${name}.db`) };
    case 'postgres':
      if (env.pgUrl === undefined) throw new Error('PostgreSQL is not available');
      return { kind, url: env.pgUrl, schema: `rsbench_${name}` };
    case 'redis':
      if (env.redisUrl === undefined) throw new Error('Redis is not available');
      return { kind, url: env.redisUrl, prefix: `rsbench:${name}:`, volatile: env.redisVolatile };
  }
}

/** What the report says about how the store was configured. */
export function describeStore(kind: StoreKind): string {
  switch (kind) {
    case 'sqlite':
      return 'SQLite file: WAL, synchronous=FULL, BEGIN IMMEDIATE per transition (the defaults)';
    case 'postgres':
      return 'PostgreSQL over TCP loopback, pg.Pool (max 10), one statement per transition';
    case 'redis':
      return 'Redis over TCP loopback, ioredis, one EVALSHA per transition';
  }
}

export interface OpenedStore {
  readonly store: Store;
  /** The driver objects, for scenarios that read sizes or load rows beside the store. */
  readonly pgPool?: pg.Pool;
  readonly redis?: Redis;
  readonly db?: Database.Database;
  close(): Promise<void>;
}

/**
 * Opens the store at `location` with the options an application would use. With `counters`, the
 * driver is wrapped to count round trips (profiling only: measured runs use it unwrapped).
 */
export function openStore(location: Location, counters?: Counters): Promise<OpenedStore> {
  return Promise.resolve(openStoreNow(location, counters));
}

function openStoreNow(location: Location, counters?: Counters): OpenedStore {
  switch (location.kind) {
    case 'sqlite': {
      if (counters === undefined) {
        const store = sqliteStore({ path: location.path });
        return { store, close: () => store.close() };
      }
      const db = new Database(location.path);
      const store = sqliteStore({ database: countingDatabase(db, counters) });
      return {
        store,
        db,
        close: async () => {
          await store.close();
          db.close();
        },
      };
    }
    case 'postgres': {
      const pool = new pg.Pool({ connectionString: location.url, max: 10 });
      pool.on('error', () => undefined);
      const store = postgresStore({
        pool: counters === undefined ? pool : countingPool(pool, counters),
        schema: location.schema,
      });
      return {
        store,
        pgPool: pool,
        close: async () => {
          await store.close();
          await pool.end();
        },
      };
    }
    case 'redis': {
      const redis = new Redis(location.url, { maxRetriesPerRequest: 3 });
      redis.on('error', () => undefined);
      if (counters !== undefined) countCommands(redis, counters);
      const store = redisStore({
        client: redis,
        keyPrefix: location.prefix,
        allowVolatile: location.volatile,
      });
      return {
        store,
        redis,
        close: async () => {
          await store.close();
          await redis.quit().catch(() => undefined);
        },
      };
    }
  }
}

/** Removes everything the location holds. */
export async function destroyLocation(location: Location): Promise<void> {
  switch (location.kind) {
    case 'sqlite':
      for (const suffix of ['', '-wal', '-shm', '-journal'])
        await rm(location.path + suffix, { force: true });
      return;
    case 'postgres': {
      const client = new pg.Client({ connectionString: location.url });
      client.on('error', () => undefined);
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${location.schema}" CASCADE`);
      } finally {
        await client.end();
      }
      return;
    }
    case 'redis': {
      const redis = new Redis(location.url);
      redis.on('error', () => undefined);
      try {
        await deleteByPrefix(redis, location.prefix);
      } finally {
        await redis.quit().catch(() => undefined);
      }
      return;
    }
  }
}

/** UNLINKs every key under `prefix` (SCAN, in pages). */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

function countingPool(pool: pg.Pool, counters: Counters): pg.Pool {
  return new Proxy(pool, {
    get(target, property, receiver) {
      if (property === 'query') {
        return (...args: unknown[]) => {
          counters.roundTrips++;
          tally(counters, firstWord(args[0]));
          const t0 = performance.now();
          const done = (target.query as (...a: unknown[]) => Promise<unknown>)(...args);
          return done.finally(() => {
            counters.driverMs += performance.now() - t0;
          });
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function firstWord(text: unknown): string {
  if (typeof text !== 'string') return 'query';
  return (/^\s*(\w+)/.exec(text)?.[1] ?? 'query').toUpperCase();
}

function countCommands(redis: Redis, counters: Counters): void {
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (command, stream) => {
    counters.roundTrips++;
    tally(counters, command.name.toUpperCase());
    const t0 = performance.now();
    const done = (): void => {
      counters.driverMs += performance.now() - t0;
    };
    command.promise.then(done, done);
    return send(command, stream);
  };
}

type Fn = (...args: unknown[]) => unknown;

function countingDatabase(db: Database.Database, counters: Counters): SqliteDatabase {
  const countStatement = (statement: object): object =>
    new Proxy(statement, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        if (property === 'run' || property === 'get' || property === 'all') {
          return (...args: unknown[]) => {
            counters.statements++;
            return (value as Fn).apply(target, args);
          };
        }
        return (value as Fn).bind(target);
      },
    });
  return new Proxy(db, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (property === 'prepare') return (source: string) => countStatement(target.prepare(source));
      if (property === 'transaction') {
        return (fn: Fn) => {
          const transaction = target.transaction(fn);
          const counted =
            (kind: 'immediate' | 'deferred' | 'exclusive') =>
            (...args: unknown[]) => {
              counters.transactions++;
              tally(counters, `BEGIN ${kind.toUpperCase()}`);
              const t0 = performance.now();
              try {
                return transaction[kind](...args);
              } finally {
                counters.driverMs += performance.now() - t0;
              }
            };
          return Object.assign((...args: unknown[]) => counted('deferred')(...args), {
            immediate: counted('immediate'),
            deferred: counted('deferred'),
            exclusive: counted('exclusive'),
          });
        };
      }
      return (value as Fn).bind(target);
    },
  });
}
