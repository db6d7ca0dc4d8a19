import { ConfigurationError } from '../../errors/errors.ts';
import { createPool, type PgPool } from './driver.ts';
import { names } from './names.ts';
import { PostgresStore } from './store.ts';

export { PostgresStore } from './store.ts';
export { MIGRATION_LOCK_ID, LATEST_VERSION } from './migrate.ts';
export type { Names as PostgresNames } from './names.ts';
export type {
  PgClient,
  PgNotification,
  PgPool,
  PgPoolClient,
  PgQueryable,
  PgResult,
  PgStandaloneClient,
} from './driver.ts';

interface CommonOptions {
  /** Schema holding the tables, created by `migrate()` when missing. `[a-z_][a-z0-9_]*`. Default `public`. */
  readonly schema?: string;
  /** Prefix of every table, index and function name. `[a-z_][a-z0-9_]*` or empty. Default `retrysafe_`. */
  readonly tablePrefix?: string;
  /**
   * Longest a waiter sleeps between reads of an in-flight key when no notification wakes it (the
   * fallback when LISTEN is unavailable or a notification was missed). Default 1000.
   */
  readonly pollIntervalMs?: number;
  /**
   * Send the transition statements as named prepared statements, parsed and planned once per connection
   * (bench/RESULTS.md, `npm run bench -- --only overhead`: begin p50 1.21 ms unnamed, 0.47 ms named).
   * Turn off behind a pooler in transaction mode that cannot keep prepared statements (PgBouncer before
   * 1.21, or without `max_prepared_statements`). Default true.
   */
  readonly preparedStatements?: boolean;
  /**
   * Accept a primary whose standbys commits do not wait for. By default `migrate()` reads
   * `synchronous_commit`, `synchronous_standby_names` and `pg_stat_replication` and refuses a primary
   * with standbys attached and none synchronous (or `synchronous_commit` below `on`): a failover to an
   * asynchronous standby can lose acknowledged reservations and let a write happen twice.
   */
  readonly allowAsynchronousStandbys?: boolean;
}

/** Options of `postgresStore`: a pool of yours, or a connection string for a pool the store owns. */
export type PostgresStoreOptions = CommonOptions &
  (
    | {
        /** A `pg.Pool` (or a compatible object). The store never ends it: `close()` leaves it to you. */
        readonly pool: PgPool;
        readonly connectionString?: never;
        readonly max?: never;
      }
    | {
        /** The store creates its own `pg.Pool` from this (loading `pg` on first use) and ends it on `close()`. */
        readonly connectionString: string;
        /** Connections in the store's own pool. Default: pg's default (10). */
        readonly max?: number;
        readonly pool?: never;
      }
  );

const DEFAULT_POLL_INTERVAL_MS = 1_000;

/**
 * A retrysafe store on PostgreSQL, shared by every process and machine that points at the same
 * database. Every transition is one SQL statement; leases and expiry use the server's clock; waiters
 * are woken by LISTEN/NOTIFY. Run `migrate()` once per deployment (or let the client do it lazily):
 * it is safe from several processes at once.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { retrysafe } from 'retrysafe';
 * import { postgresStore } from 'retrysafe/postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const store = postgresStore({ pool, schema: 'billing' });
 * const rs = retrysafe({ store, namespace: 'billing' });
 * // ...
 * await store.close(); // the listener; your pool stays open
 * await pool.end();
 * ```
 */
export function postgresStore(options: PostgresStoreOptions): PostgresStore {
  const tableNames = names(options.schema ?? 'public', options.tablePrefix ?? 'retrysafe_');
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const preparedStatements = options.preparedStatements ?? true;
  const allowAsynchronousStandbys = options.allowAsynchronousStandbys ?? false;
  if (!Number.isFinite(pollIntervalMs) || pollIntervalMs <= 0) {
    throw new ConfigurationError(`pollIntervalMs must be a positive number, got ${pollIntervalMs}`);
  }
  const { pool, connectionString } = options as { pool?: PgPool; connectionString?: string };
  if ((pool === undefined) === (connectionString === undefined)) {
    throw new ConfigurationError('postgresStore needs exactly one of `pool` and `connectionString`');
  }
  if (pool !== undefined) {
    return new PostgresStore({
      pool,
      ownsPool: false,
      names: tableNames,
      pollIntervalMs,
      preparedStatements,
      allowAsynchronousStandbys,
    });
  }
  const max = options.max;
  if (max !== undefined && (!Number.isSafeInteger(max) || max < 1)) {
    throw new ConfigurationError(`max must be a positive integer, got ${max}`);
  }
  return new PostgresStore({
    pool: createPool(connectionString ?? '', max),
    ownsPool: true,
    names: tableNames,
    pollIntervalMs,
    preparedStatements,
    allowAsynchronousStandbys,
  });
}
