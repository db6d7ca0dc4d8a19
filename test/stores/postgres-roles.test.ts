import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresStore, type PostgresStore } from '../../src/stores/postgres/index.ts';
import { runStoreContract } from '../../src/testing/contract/store-contract.ts';
import { serviceGate } from '../helpers/services.ts';
import { POSTGRES_URL, reserve } from './postgres-fixture.ts';

/**
 * The runtime-role recipe of docs/security.md, on the real server: an owner role runs the migrations
 * and owns the tables; the application connects as a runtime role with only the grants the store needs.
 * The store works (the whole contract suite runs as that role) and the role cannot alter the audit log.
 */
const available = await serviceGate('PostgreSQL', 5432);

/** The grants of docs/security.md, for `schema` and the default table prefix. */
export function runtimeGrants(schema: string, runtime: string): string {
  const t = (name: string): string => `"${schema}"."retrysafe_${name}"`;
  return `
    GRANT USAGE ON SCHEMA "${schema}" TO ${runtime};
    GRANT SELECT, INSERT, UPDATE, DELETE ON ${t('records')} TO ${runtime};
    GRANT SELECT, INSERT, UPDATE ON ${t('overrides')} TO ${runtime};
    GRANT SELECT, INSERT ON ${t('audit')} TO ${runtime};
    GRANT SELECT ON ${t('schema_version')} TO ${runtime};
  `;
}

describe.runIf(available)('PostgreSQL with a migration owner and a runtime role', () => {
  const id = randomUUID().replaceAll('-', '').slice(0, 10);
  const owner = `rs_owner_${id}`;
  const runtime = `rs_runtime_${id}`;
  const schema = `rs_roles_${id}`;
  const password = randomUUID();
  const url = (role: string): string => {
    const parsed = new URL(POSTGRES_URL);
    parsed.username = role;
    parsed.password = password;
    return parsed.toString();
  };
  let admin: pg.Pool | undefined;
  let ownerPool: pg.Pool | undefined;
  let runtimePool: pg.Pool | undefined;
  let store: PostgresStore | undefined;

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
    await admin.query(`CREATE ROLE ${owner} LOGIN PASSWORD '${password}'`);
    await admin.query(`CREATE ROLE ${runtime} LOGIN PASSWORD '${password}'`);
    await admin.query(`CREATE SCHEMA "${schema}" AUTHORIZATION ${owner}`);
    ownerPool = new pg.Pool({ connectionString: url(owner), max: 2 });
    const migrator = postgresStore({ pool: ownerPool, schema });
    await migrator.migrate();
    await ownerPool.query(runtimeGrants(schema, runtime));
    runtimePool = new pg.Pool({ connectionString: url(runtime), max: 4 });
    store = postgresStore({ pool: runtimePool, schema });
  });

  afterAll(async () => {
    await store?.close();
    await runtimePool?.end();
    await ownerPool?.end();
    if (admin === undefined) return;
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    for (const role of [runtime, owner]) {
      await admin.query(`DROP OWNED BY ${role}`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
    }
    await admin.end();
  });

  const runtimeStore = (): PostgresStore => {
    if (store === undefined) throw new Error('the runtime store is created in beforeAll');
    return store;
  };

  // The store keeps working with those grants: migrate() finds nothing to do, every transition runs.
  runStoreContract({
    name: 'postgres as a runtime role',
    runner: { describe, it, beforeAll, afterAll },
    create: () => Promise.resolve(runtimeStore()),
    destroy: () => Promise.resolve(),
  });

  it('the runtime role cannot disable the audit triggers, nor delete, change or truncate audit entries', async () => {
    const key = `roles:${randomUUID()}`;
    const lease = await reserve(runtimeStore(), key);
    await runtimeStore().settle(lease, {
      state: 'unknown',
      result: null,
      reason: 'timeout',
      ttlMs: 1,
      tombstoneMs: 1,
    });
    await runtimeStore().settle(lease, { state: 'succeeded', ttlMs: 1, tombstoneMs: 1 });
    const before = await runtimeStore().audit(key);
    expect(before.map((entry) => entry.event)).toEqual(['late_write']);

    const audit = `"${schema}"."retrysafe_audit"`;
    const attempts = [
      `ALTER TABLE ${audit} DISABLE TRIGGER USER`,
      `ALTER TABLE ${audit} DISABLE TRIGGER ALL`,
      `DROP TRIGGER "retrysafe_audit_no_update_delete" ON ${audit}`,
      `DELETE FROM ${audit}`,
      `UPDATE ${audit} SET detail = '{}'`,
      `TRUNCATE ${audit}`,
      `DROP TABLE ${audit}`,
    ];
    for (const statement of attempts) {
      await expect(runtimePool?.query(statement), statement).rejects.toThrow(
        /must be owner|permission denied/,
      );
    }
    expect(await runtimeStore().audit(key)).toEqual(before);
  });

  it('the owner, by contrast, could: which is why the application must not connect as it', async () => {
    const audit = `"${schema}"."retrysafe_audit"`;
    const client = await ownerPool?.connect();
    if (client === undefined) throw new Error('no owner pool');
    try {
      await client.query('BEGIN');
      await client.query(`ALTER TABLE ${audit} DISABLE TRIGGER USER`);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  });
});
