import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { BeginRequest, Lease, Store } from '../../src/stores/types.ts';

/** The local PostgreSQL every server-backed suite uses (see .ci/run). */
export const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const HOUR_MS = 3_600_000;

export interface PgFixture {
  /** A pool on the test database, open for the suite. */
  readonly db: () => pg.Pool;
  /** This file run's own schema; `schema('_x')` another one, also dropped after the suite. */
  readonly schema: (suffix?: string) => string;
}

/**
 * A pool and unique schemas for one test file, so that files running in parallel never share tables.
 * Call inside a `describe`: it registers the hooks that open the pool and drop the schemas.
 */
export function pgFixture(): PgFixture {
  const base = `rs_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const used = new Set<string>();
  let pool: pg.Pool | undefined;
  beforeAll(() => {
    pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 });
  });
  afterAll(async () => {
    if (pool === undefined) return;
    for (const name of used) await pool.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    await pool.end();
  });
  return {
    db: () => {
      if (pool === undefined) throw new Error('the pool opens in beforeAll');
      return pool;
    },
    schema: (suffix = '') => {
      used.add(base + suffix);
      return base + suffix;
    },
  };
}

/** A key maker unique to one test. */
export function keys(label: string): (name?: string) => string {
  const prefix = `rs-pg:${label}:${randomUUID()}`;
  return (name = 'k') => `${prefix}:${name}`;
}

export function request(key: string, more: Partial<BeginRequest> = {}): BeginRequest {
  return {
    key,
    operation: 'pg-op@1',
    fingerprint: 'sha256:aa',
    retryFailed: false,
    token: randomUUID(),
    leaseMs: HOUR_MS,
    ...more,
  };
}

export const done = {
  state: 'succeeded',
  result: '{"value":1}',
  ttlMs: HOUR_MS,
  tombstoneMs: HOUR_MS,
} as const;

export async function reserve(store: Store, key: string, leaseMs = HOUR_MS): Promise<Lease> {
  const begun = await store.begin(request(key, { leaseMs }));
  if (!begun.reserved) throw new Error(`expected to reserve ${key}`);
  return begun.lease;
}

/** The server's clock in integer ms, as the store reads it. */
export async function serverNow(db: pg.Pool): Promise<number> {
  const { rows } = await db.query<{ now: string }>(
    'SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now',
  );
  return Number(rows[0]?.now);
}
