import {
  RecordState,
  type AuditEntry,
  type AuditEvent,
  type IdempotencyRecord,
  type OverrideRequest,
} from '../../machine/record.ts';
import {
  assembleCounts,
  countsFromGroups,
  groupedCount,
  lapsedCount,
  oldestKey,
  statesOf,
  type CountGroup,
  type SqlQuery,
} from '../record-counts.ts';
import type { CountFilter, ListCursor, RecordCounts } from '../types.ts';
import type { SqliteDatabase, SqliteStatement } from './driver.ts';
import {
  auditFromRow,
  overrideFromRow,
  recordFromRow,
  rowFromRecord,
  type AuditRow,
  type OverrideRow,
  type RecordRow,
} from './rows.ts';
import { RECORD_COLUMNS, SQL_GC_DUE, sqlStateTerms } from '../shared.ts';
import type { Tables } from './schema.ts';

export interface AuditInput {
  readonly key: string;
  readonly at: number;
  readonly event: AuditEvent;
  readonly attempt: number;
  readonly actor: string;
  readonly detail: Record<string, unknown>;
}

/**
 * gc's two statements, one bounded batch each, both picked through the gc index (`SQL_GC_DUE`):
 * compaction (past the TTL, before the tombstone's end), then deletion (past the tombstone's end, whether
 * compacted or not). Parameters: now, now, limit.
 */
export function gcStatements(t: Tables): { compactBatch: string; deleteBatch: string } {
  const due = `tombstone_until IS NOT NULL AND ${SQL_GC_DUE} <= ?`;
  return {
    compactBatch: `UPDATE ${t.records} SET result = NULL, request = NULL WHERE rowid IN (
       SELECT rowid FROM ${t.records}
       WHERE ${due} AND (result IS NOT NULL OR request IS NOT NULL) AND tombstone_until > ? LIMIT ?)`,
    deleteBatch: `DELETE FROM ${t.records} WHERE rowid IN (
       SELECT rowid FROM ${t.records} WHERE ${due} AND tombstone_until <= ? LIMIT ?)`,
  };
}

/**
 * Every SQL statement the store runs, prepared once per connection, behind typed methods. Only `list`
 * builds its SQL per filter shape (and caches each shape).
 */
export class Statements {
  readonly #db: SqliteDatabase;
  readonly #t: Tables;
  readonly #listCache = new Map<string, SqliteStatement>();
  readonly #getRecord: SqliteStatement;
  readonly #upsertRecord: SqliteStatement;
  readonly #appendAudit: SqliteStatement;
  readonly #auditOf: SqliteStatement;
  readonly #insertOverride: SqliteStatement;
  readonly #getOverride: SqliteStatement;
  readonly #approveOverride: SqliteStatement;
  readonly #useOverride: SqliteStatement;
  readonly #overridesOf: SqliteStatement;
  readonly #allOverrides: SqliteStatement;
  readonly #deleteBatch: SqliteStatement;
  readonly #compactBatch: SqliteStatement;

  constructor(db: SqliteDatabase, t: Tables) {
    this.#db = db;
    this.#t = t;
    const columns = RECORD_COLUMNS.join(', ');
    const values = RECORD_COLUMNS.map((column) => `@${column}`).join(', ');
    const updates = RECORD_COLUMNS.filter((column) => column !== 'key')
      .map((column) => `${column} = excluded.${column}`)
      .join(', ');
    this.#getRecord = db.prepare(`SELECT ${columns} FROM ${t.records} WHERE key = ?`);
    this.#upsertRecord = db.prepare(
      `INSERT INTO ${t.records} (${columns}) VALUES (${values}) ON CONFLICT (key) DO UPDATE SET ${updates}`,
    );
    this.#appendAudit = db.prepare(
      `INSERT INTO ${t.audit} (key, at, event, attempt, actor, detail) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.#auditOf = db.prepare(`SELECT * FROM ${t.audit} WHERE key = ? ORDER BY id`);
    this.#insertOverride = db.prepare(
      `INSERT INTO ${t.overrides} (id, key, fingerprint, generation, attempt, payload, requested_by, reason,
         requested_at, approved_by, approved_at, status)
       VALUES (@id, @key, @fingerprint, @generation, @attempt, @payload, @requested_by, @reason,
         @requested_at, @approved_by, @approved_at, @status)`,
    );
    this.#getOverride = db.prepare(`SELECT * FROM ${t.overrides} WHERE id = ?`);
    this.#approveOverride = db.prepare(
      `UPDATE ${t.overrides} SET status = 'approved', approved_by = ?, approved_at = ?
       WHERE id = ? AND status = 'pending' RETURNING *`,
    );
    this.#useOverride = db.prepare(
      `UPDATE ${t.overrides} SET status = 'used'
       WHERE key = ? AND fingerprint = ? AND generation = ? AND status = 'approved' RETURNING id`,
    );
    this.#overridesOf = db.prepare(`SELECT * FROM ${t.overrides} WHERE key = ? ORDER BY requested_at, rowid`);
    this.#allOverrides = db.prepare(`SELECT * FROM ${t.overrides} ORDER BY requested_at, rowid`);
    const gc = gcStatements(t);
    this.#deleteBatch = db.prepare(gc.deleteBatch);
    this.#compactBatch = db.prepare(gc.compactBatch);
  }

  record(key: string): IdempotencyRecord | undefined {
    const row = this.#getRecord.get(key) as RecordRow | undefined;
    return row === undefined ? undefined : recordFromRow(row);
  }

  write(record: IdempotencyRecord): void {
    this.#upsertRecord.run(rowFromRecord(record));
  }

  appendAudit(entry: AuditInput): void {
    const { key, at, event, attempt, actor, detail } = entry;
    this.#appendAudit.run(key, at, event, attempt, actor, JSON.stringify(detail));
  }

  audit(key: string): AuditEntry[] {
    return (this.#auditOf.all(key) as AuditRow[]).map(auditFromRow);
  }

  insertOverride(override: OverrideRequest): void {
    this.#insertOverride.run({
      id: override.id,
      key: override.key,
      fingerprint: override.fingerprint,
      generation: override.generation,
      attempt: override.attempt,
      payload: override.payload,
      requested_by: override.requestedBy,
      reason: override.reason,
      requested_at: override.requestedAt,
      approved_by: override.approvedBy,
      approved_at: override.approvedAt,
      status: override.status,
    });
  }

  override(id: string): OverrideRequest | undefined {
    const row = this.#getOverride.get(id) as OverrideRow | undefined;
    return row === undefined ? undefined : overrideFromRow(row);
  }

  /** Pending to approved; undefined when the request is no longer pending. */
  approveOverride(id: string, approvedBy: string, at: number): OverrideRequest | undefined {
    const row = this.#approveOverride.get(approvedBy, at, id) as OverrideRow | undefined;
    return row === undefined ? undefined : overrideFromRow(row);
  }

  /** Approved to used; returns the id of the override that was used, if any. */
  useOverride(key: string, fingerprint: string, generation: number): string | undefined {
    const row = this.#useOverride.get(key, fingerprint, generation) as { id: string } | undefined;
    return row?.id;
  }

  overrides(key: string | undefined): OverrideRequest[] {
    const rows = (key === undefined ? this.#allOverrides.all() : this.#overridesOf.all(key)) as OverrideRow[];
    return rows.map(overrideFromRow);
  }

  deleteBatch(now: number, limit: number): number {
    return this.#deleteBatch.run(now, now, limit).changes;
  }

  compactBatch(now: number, limit: number): number {
    return this.#compactBatch.run(now, now, limit).changes;
  }

  /** `count` from the indexes (src/stores/record-counts.ts builds the statements). */
  count(filter: CountFilter): RecordCounts {
    const placeholder = (): string => '?';
    const prepared = (query: SqlQuery): SqliteStatement => this.#db.prepare(query.text);
    const grouped = groupedCount(this.#t.records, filter, placeholder);
    const parts = countsFromGroups(filter, prepared(grouped).all(...grouped.values) as CountGroup[]);
    const keys = parts.oldestGroups.map((group) => {
      const query = oldestKey(this.#t.records, group, placeholder);
      return (prepared(query).get(...query.values) as { key: string } | undefined)?.key;
    });
    let lapsed: number | undefined;
    if (filter.lapsedAt !== undefined) {
      if (!statesOf(filter).includes(RecordState.InFlight)) lapsed = 0;
      else {
        const query = lapsedCount(this.#t.records, filter, filter.lapsedAt, placeholder);
        lapsed = (prepared(query).get(...query.values) as { n: number }).n;
      }
    }
    return assembleCounts(filter, parts, keys, lapsed);
  }

  list(filter: {
    states: readonly string[] | undefined;
    operation: string | undefined;
    updatedBefore: number | undefined;
    after: ListCursor | undefined;
    limit: number;
  }): IdempotencyRecord[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.states !== undefined) where.push(...sqlStateTerms(filter.states));
    if (filter.operation !== undefined) {
      where.push('operation = ?');
      params.push(filter.operation);
    }
    if (filter.updatedBefore !== undefined) {
      where.push('updated_at < ?');
      params.push(filter.updatedBefore);
    }
    if (filter.after !== undefined) {
      // A row value: the same order as ORDER BY, and SQLite seeks the index to it.
      where.push('(updated_at, key) > (?, ?)');
      params.push(filter.after.updatedAt, filter.after.key);
    }
    const sql =
      `SELECT ${RECORD_COLUMNS.join(', ')} FROM ${this.#t.records}` +
      (where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`) +
      ' ORDER BY updated_at, key LIMIT ?';
    let statement = this.#listCache.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#listCache.set(sql, statement);
    }
    return (statement.all(...params, filter.limit) as RecordRow[]).map(recordFromRow);
  }
}
