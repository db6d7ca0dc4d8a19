import { readFile } from 'node:fs/promises';
import { ConfigurationError } from '../../errors/errors.ts';
import type { PgPool } from './driver.ts';
import { quoteIdent, type Names } from './names.ts';

/**
 * The `pg_advisory_xact_lock` key every retrysafe migration runs under: the ASCII bytes of "retrysaf"
 * as a bigint. One key for all schemas in a database: migrations are rare and short, and one key means
 * an operator can see (`pg_locks`, objid) who is migrating.
 */
export const MIGRATION_LOCK_ID = 8243122727984259430n;

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly file: URL;
}

/**
 * The migrations this code knows, in order. The files are read at run time next to this module (the
 * build copies them), with the schema, table prefix and channel substituted.
 */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'init', file: new URL('./migrations/0001_init.sql', import.meta.url) },
  {
    version: 2,
    name: 'provider_key_evidence',
    file: new URL('./migrations/0002_provider_key_evidence.sql', import.meta.url),
  },
  {
    version: 3,
    name: 'override_binding',
    file: new URL('./migrations/0003_override_binding.sql', import.meta.url),
  },
  { version: 4, name: 'key_fields', file: new URL('./migrations/0004_key_fields.sql', import.meta.url) },
  {
    version: 5,
    name: 'state_operation_index',
    file: new URL('./migrations/0005_state_operation_index.sql', import.meta.url),
  },
];

export const LATEST_VERSION = MIGRATIONS.reduce((latest, m) => Math.max(latest, m.version), 0);

/** The text of a migration with the names put in; any other `{{…}}` is a mistake in the file. */
export function renderMigration(source: string, names: Names): string {
  return source.replaceAll(/\{\{(\w+)\}\}/g, (_match, placeholder: string) => {
    switch (placeholder) {
      case 'schema':
        return quoteIdent(names.schema);
      case 'prefix':
        return names.prefix;
      case 'channel':
        return names.channel;
      default:
        throw new Error(`unknown placeholder {{${placeholder}}} in a retrysafe migration`);
    }
  });
}

/**
 * Creates or upgrades the schema in one transaction under the advisory lock, so that any number of
 * processes may call it at once: the first applies what is missing, the others wait and find nothing
 * to do. A database at a newer version than this code knows is refused rather than used.
 */
export async function migrate(pool: PgPool, names: Names): Promise<void> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_ID.toString()]);
    // A schema already at this version needs no DDL: a runtime role without CREATE (one that cannot
    // alter the audit log, see docs/security.md) can call migrate() and find nothing to do.
    if ((await appliedVersion(client, names)) === LATEST_VERSION) {
      await client.query('COMMIT');
      return;
    }
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [names.schema]);
    // Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when it exists.
    if (exists.rows.length === 0) await client.query(`CREATE SCHEMA ${quoteIdent(names.schema)}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${names.versions} (
         version integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const found = await client.query(`SELECT coalesce(max(version), 0) AS version FROM ${names.versions}`);
    const current = Number(found.rows[0]?.['version'] ?? 0);
    if (current > LATEST_VERSION) {
      throw new ConfigurationError(
        `the retrysafe tables in schema "${names.schema}" (prefix "${names.prefix}") are at version ` +
          `${current}, newer than this retrysafe knows (${LATEST_VERSION}); upgrade retrysafe`,
      );
    }
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      // No parameters: the simple protocol runs the file's statements in order.
      await client.query(renderMigration(await readFile(migration.file, 'utf8'), names));
      await client.query(`INSERT INTO ${names.versions} (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw error;
  } finally {
    // A connection that could not even roll back is destroyed, not handed back to the pool.
    client.release(broken);
  }
}

/** The version recorded in the schema, or undefined when it has no version table yet. */
async function appliedVersion(
  client: { query: (text: string, values?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }> },
  names: Names,
): Promise<number | undefined> {
  const table = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [names.versions]);
  if (table.rows[0]?.['present'] !== true) return undefined;
  const found = await client.query(`SELECT coalesce(max(version), 0) AS version FROM ${names.versions}`);
  return Number(found.rows[0]?.['version'] ?? 0);
}
