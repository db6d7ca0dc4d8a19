import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/errors/errors.ts';
import { LATEST_VERSION, MIGRATION_LOCK_ID, postgresStore } from '../../src/stores/postgres/index.ts';
import { names } from '../../src/stores/postgres/names.ts';
import { MIGRATIONS } from '../../src/stores/postgres/migrate.ts';
import { statements } from '../../src/stores/postgres/sql.ts';
import type { Store } from '../../src/stores/types.ts';
import { serviceGate } from '../helpers/services.ts';
import { keys, pgFixture, POSTGRES_URL, reserve } from './postgres-fixture.ts';

const available = await serviceGate('PostgreSQL', 5432);

/** Whether the plan reads `index` (an index scan, index-only scan or bitmap index scan). */
function usesIndex(plan: string, index: string): boolean {
  return new RegExp(`(Index Scan|Index Only Scan|Bitmap Index Scan) (using|on) ${index}\\b`).test(plan);
}

async function explain(client: pg.PoolClient, text: string, values: unknown[]): Promise<string> {
  const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, values);
  return rows.map((row) => row['QUERY PLAN']).join('\n');
}

/** Migrations (advisory lock, version table) and the indexes that keep the statements fast. */
describe.runIf(available)('PostgreSQL store: schema', () => {
  const { db, schema } = pgFixture();

  it('EXPLAIN: begin, the fenced writes, gc and list go through indexes', async () => {
    const x = postgresStore({ pool: db(), schema: schema('_x') });
    await x.migrate();
    const table = x.names.records;
    // Enough rows that the planner's choice reflects a large table: half past their tombstone.
    await db().query(
      `INSERT INTO ${table} (key, operation, fingerprint, state, attempt, generation, result, created_at,
         updated_at, expires_at, tombstone_until, last_event)
       SELECT 'bulk:' || g, 'op@1', 'sha256:aa', 'succeeded', 1, 1, '{}', 0, g,
         CASE WHEN g % 2 = 0 THEN 1000 + g ELSE 9000000000000 + g END,
         CASE WHEN g % 2 = 0 THEN 2000 + g ELSE 9900000000000 + g END, 'settled'
       FROM generate_series(1, 20000) AS g`,
    );
    await db().query(`ANALYZE ${table}`);
    const sql = statements(names(schema('_x'), 'retrysafe_'));
    const p = 'retrysafe_';
    const client = await db().connect();
    try {
      const gcDelete = await explain(client, sql.gcDelete, [500]);
      expect(gcDelete).toContain(`Index Scan using ${p}records_gc_idx`);
      const gcCompact = await explain(client, sql.gcCompact, [500]);
      expect(gcCompact).toContain(`Index Scan using ${p}records_gc_idx`);
      for (const plan of [gcDelete, gcCompact]) {
        // Batches come in index order and stop at the limit: no sort of everything that expired.
        expect(plan).not.toMatch(/Seq Scan|Sort/);
        expect(usesIndex(plan, `${p}records_pkey`)).toBe(true);
      }
      const k = 'bulk:7';
      const writes: [string, unknown[]][] = [
        [sql.begin, [k, 'op@1', 'sha256:aa', false, 't', 1000, null, null]],
        [sql.heartbeat, [k, 1, 't', 1000]],
        [sql.settle, [k, 1, 't', 'succeeded', null, null, null, 1, 1, 1, null]],
        [sql.markUnknown, [k, 1, 'r']],
        [sql.noteUnknown, [k, 1, 'r', 'a', 'lookup', 'unknown']],
        [sql.reclaim, [k, 1, 't', 1000, 'r', null, null]],
        [sql.reclaim, [k, 1, 't', 1000, 'r', null, '{"lookup":"absent"}']],
        [sql.resolve, [k, 1, 'succeeded', null, null, 'r', 'a', 1, 1, null, null, null]],
        [sql.resolve, [k, 1, 'released', null, null, 'r', 'a', 1, 1, null, 'absent', '{}']],
        [sql.requestResolution, [k, 1, 'released', null, null, 'r', 'a', 'id', false]],
      ];
      for (const [text, values] of writes) {
        const plan = await explain(client, text, values);
        expect(usesIndex(plan, `${p}records_pkey`), plan).toBe(true);
        expect(plan).not.toMatch(/Seq Scan on \S*records/);
      }
      const beginPlan = await explain(client, sql.begin, writes[0]?.[1] ?? []);
      expect(beginPlan).toContain(`Conflict Arbiter Indexes: ${p}records_pkey`);
      for (const states of [['unknown'], ['in_flight', 'unknown']]) {
        const list = sql.list({ states, limit: 100 });
        expect(usesIndex(await explain(client, list.text, list.values), `${p}records_open_idx`)).toBe(true);
      }
      // The audit and override tables are empty here: ask the planner which index it would use.
      await client.query('SET enable_seqscan = off');
      const audit = await explain(client, sql.audit, [k]);
      expect(usesIndex(audit, `${p}audit_key_id_idx`)).toBe(true);
      expect(audit).not.toContain('Seq Scan');
      expect(usesIndex(await explain(client, sql.overridesOfKey, [k]), `${p}overrides_key_idx`)).toBe(true);
    } finally {
      await client.query('RESET enable_seqscan');
      client.release();
      await x.close();
    }
  });

  it('migrate from 3 pools at once applies each migration exactly once', async () => {
    const name = schema('_m');
    const pools = [1, 2, 3].map(() => new pg.Pool({ connectionString: POSTGRES_URL, max: 1 }));
    const stores = pools.map((p) => postgresStore({ pool: p, schema: name }));
    try {
      await Promise.all(stores.map((s) => s.migrate()));
      await Promise.all(stores.map((s) => s.migrate()));
      const { rows } = await db().query(
        `SELECT version FROM "${name}".retrysafe_schema_version ORDER BY version`,
      );
      expect(rows).toEqual(MIGRATIONS.map((migration) => ({ version: migration.version })));
      const key = keys('migrate');
      const lease = await reserve(stores[0] as Store, key());
      expect(await stores[2]?.get(key())).toMatchObject({ attempt: lease.attempt, state: 'in_flight' });
    } finally {
      for (const s of stores) await s.close();
      for (const p of pools) await p.end();
    }
  });

  it('migrate runs under the documented advisory lock', { timeout: 20_000 }, async () => {
    const name = schema('_l');
    const holder = await db().connect();
    // Its own application name, so the waiting lock found below is this migration's and no other's.
    const app = `rs-migrate-${randomUUID().slice(0, 8)}`;
    const own = new pg.Pool({ connectionString: POSTGRES_URL, max: 1, application_name: app });
    const migrating = postgresStore({ pool: own, schema: name });
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_ID.toString()]);
      const running = migrating.migrate();
      // Wait (by asking the server, not the clock) until the migration queues for the lock.
      const high = (MIGRATION_LOCK_ID >> 32n).toString();
      const low = (MIGRATION_LOCK_ID & 0xffffffffn).toString();
      for (;;) {
        const { rows } = await db().query(
          `SELECT 1 FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = $3
             AND l.classid::bigint = $1 AND l.objid::bigint = $2 AND l.objsubid = 1`,
          [high, low, app],
        );
        if (rows.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const before = await db().query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [name]);
      expect(before.rows).toEqual([]);
      await holder.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_ID.toString()]);
      await running;
      const after = await db().query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [name]);
      expect(after.rows).toHaveLength(1);
    } finally {
      holder.release();
      await migrating.close();
      await own.end();
    }
  });

  it('a database at a newer schema version than the code knows is refused', async () => {
    const name = schema('_v');
    const first = postgresStore({ pool: db(), schema: name });
    await first.migrate();
    await db().query(`INSERT INTO "${name}".retrysafe_schema_version (version, name) VALUES ($1, $2)`, [
      LATEST_VERSION + 1,
      'from-the-future',
    ]);
    const later = postgresStore({ pool: db(), schema: name });
    await expect(later.migrate()).rejects.toBeInstanceOf(ConfigurationError);
    await expect(later.migrate()).rejects.toThrow(/newer than this retrysafe knows/);
    await first.close();
    await later.close();
  });
});
