import { ConfigurationError } from '../../errors/errors.ts';
import { SQL_GC_DUE, SQL_OPEN_STATES } from '../shared.ts';
import type { SqliteDatabase } from './driver.ts';

/** Quoted table names under one prefix. */
export interface Tables {
  readonly meta: string;
  readonly records: string;
  readonly audit: string;
  readonly overrides: string;
  readonly prefix: string;
}

const PREFIX = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/;

export function tablesFor(prefix: string): Tables {
  if (!PREFIX.test(prefix)) {
    throw new ConfigurationError(
      `tablePrefix ${JSON.stringify(prefix)} is not a plain SQL identifier prefix ` +
        '(letters, digits and underscores, not starting with a digit, at most 48 characters)',
    );
  }
  return {
    meta: `"${prefix}meta"`,
    records: `"${prefix}records"`,
    audit: `"${prefix}audit"`,
    overrides: `"${prefix}overrides"`,
    prefix,
  };
}

interface Migration {
  readonly version: number;
  readonly sql: (t: Tables) => string;
}

/**
 * Schema migrations, applied in order. Never edit a released one: add the next version. The records
 * table keeps its rowid (not WITHOUT ROWID) because a row carries the whole serialized result, which is
 * often larger than the small rows WITHOUT ROWID tables are good at. No foreign keys: audit entries and
 * overrides outlive the records gc deletes.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: ({ records, audit, overrides, prefix }) => `
      CREATE TABLE ${records} (
        key TEXT NOT NULL PRIMARY KEY,
        operation TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('in_flight', 'succeeded', 'failed', 'unknown', 'released')),
        attempt INTEGER NOT NULL CHECK (attempt >= 1),
        generation INTEGER NOT NULL CHECK (generation >= 1),
        lease_owner TEXT,
        lease_until INTEGER,
        result TEXT,
        request TEXT,
        provider_ref TEXT,
        reason TEXT,
        override_fingerprint TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        expires_at INTEGER,
        tombstone_until INTEGER,
        -- in_flight and unknown records never expire: they hold the only evidence of a possible write.
        CHECK (state NOT IN ('in_flight', 'unknown') OR (expires_at IS NULL AND tombstone_until IS NULL))
      );
      -- gc: settled records by when gc next has work on them (compaction, then deletion). In-flight and
      -- unknown records are not in it, so a reservation writes no entry and a settle writes one.
      CREATE INDEX "${prefix}records_gc" ON ${records} ${SQL_GC_DUE} WHERE tombstone_until IS NOT NULL;
      -- list: the records that need attention, by state, oldest update first. Settled records leave it.
      CREATE INDEX "${prefix}records_open" ON ${records} (state, updated_at) WHERE ${SQL_OPEN_STATES};

      CREATE TABLE ${audit} (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL,
        at INTEGER NOT NULL,
        event TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        actor TEXT NOT NULL,
        detail TEXT NOT NULL
      );
      CREATE INDEX "${prefix}audit_key" ON ${audit} (key, id);
      CREATE TRIGGER "${prefix}audit_no_update" BEFORE UPDATE ON ${audit}
        BEGIN SELECT RAISE(ABORT, 'the retrysafe audit log is append-only'); END;
      CREATE TRIGGER "${prefix}audit_no_delete" BEFORE DELETE ON ${audit}
        BEGIN SELECT RAISE(ABORT, 'the retrysafe audit log is append-only'); END;

      CREATE TABLE ${overrides} (
        id TEXT NOT NULL PRIMARY KEY,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        generation INTEGER NOT NULL,
        requested_by TEXT NOT NULL,
        reason TEXT NOT NULL,
        requested_at INTEGER NOT NULL,
        approved_by TEXT,
        approved_at INTEGER,
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'used')),
        CHECK (approved_by IS NULL OR approved_by <> requested_by)
      );
      CREATE INDEX "${prefix}overrides_key" ON ${overrides} (key, requested_at);
    `,
  },
  {
    // Provider-key evidence per generation (src/machine/provider-key-evidence.ts). Null for every
    // existing row: nothing is known about their keys yet, which is what null means.
    version: 2,
    sql: ({ records }) => `
      ALTER TABLE ${records} ADD COLUMN key_evidence TEXT
        CHECK (key_evidence IS NULL OR key_evidence IN ('answered', 'absent', 'burned'));
    `,
  },
  {
    // Approvals bound to the attempt they were given for; override requests keep the attempt they were
    // made at and the proposed payload, so the approver sees what will be sent.
    version: 3,
    sql: ({ records, overrides }) => `
      ALTER TABLE ${records} ADD COLUMN override_attempt INTEGER;
      ALTER TABLE ${overrides} ADD COLUMN attempt INTEGER;
      ALTER TABLE ${overrides} ADD COLUMN payload TEXT;
    `,
  },
  {
    // The canonical key fields, so a lookup from a stored record can search by the logical identity.
    version: 4,
    sql: ({ records }) => `ALTER TABLE ${records} ADD COLUMN key_fields TEXT;`,
  },
  {
    // `count` groups by state and operation from this index alone, and finds each state's oldest
    // record through it, so counting a large store reads no record.
    version: 5,
    sql: ({ records, prefix }) =>
      `CREATE INDEX "${prefix}records_state_operation" ON ${records} (state, operation, updated_at);`,
  },
];

/** The latest version (versions are numbered by their author, so the list may have gaps while in review). */
export const SCHEMA_VERSION = MIGRATIONS.reduce((latest, m) => Math.max(latest, m.version), 0);

/** The schema version recorded in the database, 0 when none is. */
export function schemaVersion(db: SqliteDatabase, t: Tables): number {
  const exists = db
    .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`)
    .get(`${t.prefix}meta`);
  if (exists === undefined) return 0;
  const row = db.prepare(`SELECT value FROM ${t.meta} WHERE name = 'schema_version'`).get() as
    { value: number } | undefined;
  return row?.value ?? 0;
}

export function assertKnownVersion(version: number): void {
  if (version > SCHEMA_VERSION) {
    throw new ConfigurationError(
      `the retrysafe SQLite schema is at version ${version}, newer than this release knows ` +
        `(${SCHEMA_VERSION}); upgrade retrysafe`,
    );
  }
}

/**
 * Brings the schema up to date in one immediate transaction: the first process to get the write lock
 * migrates, any other waits for it (busy timeout) and then finds nothing left to do.
 */
export function migrate(db: SqliteDatabase, t: Tables): void {
  db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS ${t.meta} (name TEXT NOT NULL PRIMARY KEY, value INTEGER NOT NULL)`);
    const current = schemaVersion(db, t);
    assertKnownVersion(current);
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      db.exec(migration.sql(t));
      db.prepare(
        `INSERT INTO ${t.meta} (name, value) VALUES ('schema_version', ?)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
      ).run(migration.version);
    }
  }).immediate();
}
