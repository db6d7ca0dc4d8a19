import { createRequire } from 'node:module';
import { ConfigurationError } from '../../errors/errors.ts';

/** The part of a better-sqlite3 statement the store uses. */
export interface SqliteStatement {
  run(...params: unknown[]): { readonly changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/**
 * The part of a better-sqlite3 `Database` the store uses, declared structurally so that the package is
 * needed at run time only when the store opens a file itself.
 */
export interface SqliteDatabase {
  prepare(source: string): SqliteStatement;
  exec(source: string): unknown;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): { immediate(...args: A): R };
  close(): unknown;
  readonly open: boolean;
}

type DatabaseConstructor = new (path: string) => SqliteDatabase;

const require = createRequire(import.meta.url);

/** Opens `path` with better-sqlite3, loaded on first use: it is an optional peer dependency. */
export function openDatabase(path: string): SqliteDatabase {
  let Database: DatabaseConstructor;
  try {
    Database = require('better-sqlite3') as DatabaseConstructor;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new ConfigurationError(
      'retrysafe/sqlite needs the better-sqlite3 package: install better-sqlite3 ^12 or pass `database`',
    );
  }
  return new Database(path);
}

export type Synchronous = 'FULL' | 'NORMAL' | 'EXTRA';

/**
 * Durability and concurrency settings every connection needs: a busy timeout so that writers from other
 * processes queue instead of failing, WAL so that readers never block the writer, and the chosen fsync level.
 */
export function configure(db: SqliteDatabase, busyTimeoutMs: number, synchronous: Synchronous): void {
  // The busy timeout first: switching to WAL needs a lock another process may hold.
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
}
