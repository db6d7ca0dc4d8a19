import { statfs } from 'node:fs/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Location } from './stores.ts';

/**
 * Bulk loading of existing records, straight into the store's real schema (created by its `migrate()`):
 * a template key written through the store API is cloned in SQL under new keys, records and audit rows
 * alike, so the loaded rows look exactly like the ones the store writes. PostgreSQL uses
 * generate_series; SQLite a recursive CTE in one transaction. Keys are sorted within each batch so
 * that loading appends to the indexes instead of splitting pages at random.
 */
export interface Loader {
  /** Rows in the records table now. */
  count(): Promise<number>;
  /** Clones the template until the table holds `target` rows. */
  loadTo(target: number, log: (message: string) => void): Promise<void>;
  close(): Promise<void>;
}

const BATCH = 1_000_000;

/** The key prefix of `template` (everything before the hash): new keys interleave with real ones. */
function prefixOf(template: string): string {
  return template.slice(0, template.lastIndexOf(':') + 1);
}

export async function pgLoader(
  location: Extract<Location, { kind: 'postgres' }>,
  template: string,
): Promise<Loader> {
  const client = new pg.Client({ connectionString: location.url });
  client.on('error', () => undefined);
  await client.connect();
  const table = (name: string): string => `"${location.schema}"."retrysafe_${name}"`;
  const columns = async (name: string): Promise<string[]> =>
    (
      await client.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns
         WHERE table_schema = $1 AND table_name = $2 AND is_identity = 'NO' ORDER BY ordinal_position`,
        [location.schema, `retrysafe_${name}`],
      )
    ).rows.map((r) => r.column_name);
  const recordColumns = await columns('records');
  const auditColumns = await columns('audit');
  const prefix = prefixOf(template);
  const newKey = `$2 || encode(sha256(convert_to($3 || g::text, 'UTF8')), 'hex')`;
  const select = (cols: string[], alias: string): string =>
    cols.map((c) => (c === 'key' ? newKey : `${alias}."${c}"`)).join(', ');
  const count = async (): Promise<number> =>
    Number(
      (await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table('records')}`)).rows[0]?.n ?? 0,
    );
  let serial = 0;
  return {
    count,
    loadTo: async (target, log) => {
      let have = await count();
      while (have < target) {
        const n = Math.min(BATCH, target - have);
        const from = serial;
        serial += n;
        const params = [template, prefix, `${location.schema}-`, from, from + n - 1];
        await client.query('BEGIN');
        await client.query(
          `INSERT INTO ${table('records')} (${recordColumns.map((c) => `"${c}"`).join(', ')})
           SELECT ${select(recordColumns, 't')} FROM ${table('records')} t, generate_series($4::bigint, $5::bigint) g
           WHERE t.key = $1 ORDER BY ${newKey}`,
          params,
        );
        await client.query(
          `INSERT INTO ${table('audit')} (${auditColumns.map((c) => `"${c}"`).join(', ')})
           SELECT ${select(auditColumns, 'a')} FROM ${table('audit')} a, generate_series($4::bigint, $5::bigint) g
           WHERE a.key = $1 ORDER BY ${newKey}, a.id`,
          params,
        );
        await client.query('COMMIT');
        have += n;
        log(`loaded ${have} records`);
      }
      // As a maintained table would be: statistics current, visibility map set, no autovacuum mid-measurement.
      await client.query(`VACUUM (ANALYZE) ${table('records')}`);
      await client.query(`VACUUM (ANALYZE) ${table('audit')}`);
    },
    close: () => client.end(),
  };
}

/**
 * SQLite: the loader has the file to itself (the store is closed while it loads), writes without
 * fsync in rollback-journal mode, then hands the file back; the store reopens it in WAL mode.
 */
export function sqliteLoader(location: Extract<Location, { kind: 'sqlite' }>, template: string): Loader {
  const tableColumns = (db: Database.Database, name: string): string[] =>
    (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(`retrysafe_${name}`) as { name: string }[])
      .map((r) => r.name)
      .filter((c) => c !== 'id');
  const open = (): Database.Database => new Database(location.path);
  const count = (db: Database.Database): number =>
    (db.prepare('SELECT count(*) AS n FROM retrysafe_records').get() as { n: number }).n;
  const prefix = prefixOf(template);
  return {
    count: () => {
      const db = open();
      try {
        return Promise.resolve(count(db));
      } finally {
        db.close();
      }
    },
    loadTo: (target, log) => {
      const db = open();
      try {
        db.pragma('journal_mode = DELETE');
        db.pragma('synchronous = OFF');
        db.pragma('cache_size = -1000000');
        db.pragma('temp_store = FILE');
        const recordColumns = tableColumns(db, 'records');
        const auditColumns = tableColumns(db, 'audit');
        const list = (cols: string[]): string => cols.map((c) => `"${c}"`).join(', ');
        const select = (cols: string[], alias: string): string =>
          cols.map((c) => (c === 'key' ? 'n.key' : `${alias}."${c}"`)).join(', ');
        let have = count(db);
        while (have < target) {
          const n = Math.min(BATCH, target - have);
          db.exec('BEGIN');
          db.exec('CREATE TEMP TABLE new_keys (key TEXT PRIMARY KEY) WITHOUT ROWID');
          db.prepare(
            `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
             INSERT OR IGNORE INTO new_keys SELECT ? || lower(hex(randomblob(32))) FROM c`,
          ).run(n, prefix);
          db.prepare(
            `INSERT INTO retrysafe_records (${list(recordColumns)})
             SELECT ${select(recordColumns, 't')} FROM new_keys n, retrysafe_records t WHERE t.key = ? ORDER BY n.key`,
          ).run(template);
          db.prepare(
            `INSERT INTO retrysafe_audit (${list(auditColumns)})
             SELECT ${select(auditColumns, 'a')} FROM new_keys n, retrysafe_audit a WHERE a.key = ? ORDER BY n.key, a.id`,
          ).run(template);
          db.exec('DROP TABLE new_keys');
          db.exec('COMMIT');
          have = count(db);
          log(`loaded ${have} records`);
        }
        db.pragma('journal_mode = WAL');
      } finally {
        db.close();
      }
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

/** Free bytes on the file system holding `path`. */
export async function freeBytes(path: string): Promise<number> {
  const stats = await statfs(path);
  return stats.bavail * stats.bsize;
}

/** Where PostgreSQL keeps its data, to check its disk (a local server is assumed). */
export async function pgDataDirectory(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<{ data_directory: string }>('SHOW data_directory')).rows[0]?.data_directory;
  } catch {
    return undefined;
  } finally {
    await client.end();
  }
}
