import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { IdempotencyRecord } from '../../index.ts';
import { sqliteStore, type SqliteDatabase } from '../../stores/sqlite/index.ts';
import { BUCKETS, LAYOUT_VERSION, recordKeys } from '../../stores/redis/index.ts';
import { CommandFailure } from '../args.ts';
import type { DesignSpec } from './spec.ts';

/** Every field of a record, described; the type makes a field added to the record a compile error here. */
const RECORD_FIELDS: { readonly [K in keyof IdempotencyRecord]-?: string } = {
  key: 'the derived key (primary key)',
  operation: '`name@version`',
  fingerprint: "`sha256:<hex>` of the current generation's canonical payload",
  state: '`in_flight`, `succeeded`, `failed`, `unknown`, `released`',
  attempt: 'fencing number: +1 on every claim, never down',
  generation: '+1 on every approved override; part of the provider key',
  leaseOwner: 'random token of the holding attempt (`in_flight` only)',
  leaseUntil: 'lease end, store clock, ms (`in_flight` only)',
  result: 'the result (or failure summary) as JSON; dropped at compaction',
  request: 'the request as sent (canonical payload), for reconciliation; dropped at compaction',
  keyFields: 'the canonical key fields (the logical identity a lookup searches by); kept at compaction',
  providerRef: "the provider's id of the write",
  reason: 'why the record is unknown, failed or released',
  overrideFingerprint: 'an approved, unused override',
  overrideAttempt: 'the attempt the override was approved at; it lapses when the record moves on',
  createdAt: 'first reservation of this generation, ms',
  updatedAt: 'last change, ms',
  expiresAt: 'end of the full record (null while `in_flight` or `unknown`)',
  tombstoneUntil: 'end of the compact tombstone',
};

export function recordFieldsTable(): string {
  return [
    '| field | meaning |',
    '| --- | --- |',
    ...Object.entries(RECORD_FIELDS).map(([name, meaning]) => `| \`${name}\` | ${meaning} |`),
  ].join('\n');
}

/** The schema section for the chosen store, read from the store's own migrations or layout. */
export async function storeSchema(spec: DesignSpec, exampleKey: string | undefined): Promise<string> {
  switch (spec.store.kind) {
    case 'sqlite':
      return sqliteSchema(spec.store.prefix ?? 'retrysafe_');
    case 'postgres':
      return postgresSchema(spec.store.schema ?? 'public', spec.store.prefix ?? 'retrysafe_');
    case 'redis':
      return redisSchema(spec.store.prefix ?? 'retrysafe:', exampleKey);
  }
}

/** Runs the SQLite store's migrations on an in-memory database and prints what they created. */
async function sqliteSchema(prefix: string): Promise<string> {
  let Database: new (path: string) => SqliteDatabase & { prepare(sql: string): { all(): unknown[] } };
  try {
    Database = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
  } catch {
    throw new CommandFailure(
      'DRIVER_MISSING',
      'the SQLite schema is read from the store itself: install better-sqlite3',
    );
  }
  const db = new Database(':memory:');
  try {
    const store = sqliteStore({ database: db, tablePrefix: prefix });
    await store.migrate();
    const rows = db.prepare(`SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid`).all() as {
      sql: string;
    }[];
    return [
      `SQLite, WAL with \`synchronous = FULL\`; every transition is one \`BEGIN IMMEDIATE\` transaction. The`,
      'statements below are what `retrysafe migrate` creates (read back from an in-memory database):',
      '',
      '```sql',
      rows.map((row) => dedent(row.sql) + ';').join('\n\n'),
      '```',
    ].join('\n');
  } finally {
    db.close();
  }
}

function postgresSchema(schema: string, prefix: string): string {
  const directory = new URL('../../stores/postgres/migrations/', import.meta.url);
  const files = readdirSync(directory)
    .filter((name) => name.endsWith('.sql'))
    .sort();
  const channel = `${schema}.${prefix}records`;
  const sql = files.map((name) =>
    withoutHeader(readFileSync(new URL(name, directory), 'utf8'))
      .replaceAll('{{schema}}', `"${schema}"`)
      .replaceAll('{{prefix}}', prefix)
      .replaceAll('{{channel}}', channel.length <= 63 ? channel : '<channel>')
      .trim(),
  );
  return [
    `PostgreSQL, schema \`${schema}\`, table prefix \`${prefix}\`; every transition is one statement on the`,
    "server's clock. The migrations `retrysafe migrate` applies (under an advisory lock):",
    '',
    '```sql',
    sql.join('\n\n'),
    '```',
  ].join('\n');
}

function redisSchema(prefix: string, exampleKey: string | undefined): string {
  const key = exampleKey ?? '<key>';
  const names = recordKeys(prefix, key);
  return [
    `Redis, key prefix \`${prefix}\`, layout version ${LAYOUT_VERSION}: every transition is one Lua script on the`,
    `server's \`TIME\`. Keys are spread over ${BUCKETS} hash-tag buckets so a record and its indexes share a`,
    'Redis Cluster slot. For the worked example key:',
    '',
    '| what | Redis key | type |',
    '| --- | --- | --- |',
    `| the record | \`${names.record}\` | hash, one field per record field below |`,
    `| its audit log | \`${names.audit}\` | list of JSON entries (append-only) |`,
    `| wake-ups | \`${names.channel}\` | pub/sub channel |`,
    ...names.bucket.states.map(
      (name) => `| bucket index by state | \`${name}\` | sorted set, score \`updatedAt\` |`,
    ),
    `| results to compact | \`${names.bucket.compaction}\` | sorted set, score \`expiresAt\` |`,
    `| tombstones to delete | \`${names.bucket.deletion}\` | sorted set, score \`tombstoneUntil\` |`,
    `| override requests | \`${names.bucket.overrides}\` | hash, id to JSON |`,
    '',
    'Record hash fields:',
    '',
    recordFieldsTable(),
    '',
    '`in_flight` and `unknown` records never get a TTL; settled ones expire with `PEXPIREAT` after their tombstone.',
    'The store refuses a server without an append-only file (`appendonly yes`, `appendfsync always` or `everysec`).',
  ].join('\n');
}

/** Drops a migration file's leading comment block (it explains the placeholders, substituted here). */
function withoutHeader(source: string): string {
  const lines = source.split('\n');
  const first = lines.findIndex((line) => !line.startsWith('--'));
  return lines.slice(first === -1 ? 0 : first).join('\n');
}

/** Removes the indentation the migration source gave the statement's continuation lines. */
function dedent(sql: string): string {
  const lines = sql.split('\n');
  const indents = lines
    .slice(1)
    .filter((line) => line.trim() !== '')
    .map((line) => /^ */.exec(line)?.[0].length ?? 0);
  const strip = Math.max(0, Math.min(...indents) - 2);
  return [
    lines[0] ?? '',
    ...lines.slice(1).map((line) => line.slice(Math.min(strip, /^ */.exec(line)?.[0].length ?? 0))),
  ].join('\n');
}
