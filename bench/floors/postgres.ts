import pg from 'pg';
import type { Floor } from './floor.ts';

/**
 * The floor on PostgreSQL: one `INSERT ... ON CONFLICT DO NOTHING RETURNING` and one conditional
 * `UPDATE`, each one round trip (autocommit), through `pg.Pool` like the store, in the same database.
 */
export async function postgresFloor(
  url: string,
  schema: string,
  options: { readonly notify?: boolean; readonly max?: number } = {},
): Promise<Floor> {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
  pool.on('error', () => undefined);
  const table = `"${schema}"."floor"`;
  await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${table} (key text PRIMARY KEY, state text NOT NULL, attempt bigint NOT NULL, result text)`,
  );
  let reserve = `INSERT INTO ${table} (key, state, attempt) VALUES ($1, 'in_flight', 1)
    ON CONFLICT (key) DO NOTHING RETURNING attempt`;
  let record = `UPDATE ${table} SET state = 'succeeded', result = $2
    WHERE key = $1 AND attempt = $3 AND state = 'in_flight'`;
  if (options.notify === true) {
    // Diagnostic variant: each statement also notifies, as the store's trigger does.
    reserve = `WITH r AS (${reserve}) SELECT attempt, pg_notify('rsbench_floor', $1) FROM r`;
    record = `WITH u AS (${record} RETURNING key) SELECT pg_notify('rsbench_floor', key) FROM u`;
  }
  const select = `SELECT result FROM ${table} WHERE key = $1`;
  return {
    description:
      'INSERT ... ON CONFLICT DO NOTHING RETURNING; conditional UPDATE (2 round trips)' +
      (options.notify === true ? ', each with a pg_notify' : ''),
    roundTrips: 2,
    op: async (key, result) => {
      const reserved = await pool.query<{ attempt: string }>(reserve, [key]);
      const attempt = reserved.rows[0]?.attempt;
      if (attempt === undefined) throw new Error('floor: key already reserved');
      const recorded = await pool.query(record, [key, result, attempt]);
      if (recorded.rowCount !== 1) throw new Error('floor: record refused');
    },
    read: async (key) => {
      const found = await pool.query<{ result: string | null }>(select, [key]);
      const result = found.rows[0]?.result;
      if (typeof result !== 'string') throw new Error('floor: no result recorded');
      return result;
    },
    close: async () => {
      await pool.query(`DROP TABLE IF EXISTS ${table}`);
      await pool.end();
    },
  };
}
