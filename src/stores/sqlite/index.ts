/**
 * The SQLite store for retrysafe (`retrysafe/sqlite`): one database file that any number of connections
 * and processes on one machine can share. Needs `better-sqlite3` ^12 (an optional peer dependency) unless
 * you pass an open database.
 */
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.ts';
import type { Store } from '../types.ts';

export type { SqliteStoreOptions } from './sqlite-store.ts';
export type { SqliteDatabase, SqliteStatement, Synchronous } from './driver.ts';
export { SCHEMA_VERSION } from './schema.ts';

/**
 * Creates a SQLite store. The file runs in WAL mode with `synchronous = FULL` by default, and every
 * transition is one `BEGIN IMMEDIATE` transaction. Call `migrate()` once before use (the `retrysafe`
 * client does it for you). Leases and expiry use the clock of the process that runs each transition
 * (`capabilities.serverClock` is false); processes sharing one file share one host, so they share it.
 * A test may give it a clock it moves by hand (`clock`, the same one as `retrysafe({ clock })`).
 *
 * @example
 * ```ts
 * import { retrysafe } from 'retrysafe';
 * import { sqliteStore } from 'retrysafe/sqlite';
 *
 * const store = sqliteStore({ path: './retrysafe.db' });
 * const rs = retrysafe({ store, namespace: 'billing' });
 * // ... later
 * await store.close();
 * ```
 */
export function sqliteStore(options: SqliteStoreOptions): Store {
  return new SqliteStore(options);
}
