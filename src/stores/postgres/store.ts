import { ConfigurationError } from '../../errors/errors.ts';
import {
  RecordState,
  type AuditEntry,
  type IdempotencyRecord,
  type OverrideRequest,
} from '../../machine/record.ts';
import type {
  BeginRequest,
  BeginResult,
  FencedResult,
  GcOptions,
  GcSummary,
  Lease,
  CountFilter,
  ListFilter,
  RecordCounts,
  OverrideRequestInput,
  ReclaimRequest,
  ReclaimResult,
  ResolutionRequestInput,
  OverrideAnswer,
  ResolveRequest,
  UnknownNote,
  Settlement,
  Store,
  StoreCapabilities,
} from '../types.ts';
import { createHash } from 'node:crypto';
import { connectListener, type PgPool, type PgResult } from './driver.ts';
import { ChangeListener } from './listener.ts';
import {
  assembleCounts,
  countsFromGroups,
  emptyCounts,
  groupedCount,
  lapsedCount,
  oldestKey,
  statesOf,
  type CountGroup,
} from '../record-counts.ts';
import { migrate } from './migrate.ts';
import { judgeReplication, readReplicationSettings } from './replication.ts';
import type { Names } from './names.ts';
import { approvalRefusal, overrideRefusal } from '../../machine/overrides.ts';
import { refused } from '../refusals.ts';
import { jsonRow, toAuditEntry, toOverride, toRecord, toRecordOrUndefined } from './rows.ts';
import { statements, type Statements } from './sql.ts';
import { leaseOf } from '../shared.ts';

const DEFAULT_LIST_LIMIT = 100;
const DEFAULT_GC_BATCH = 500;
/** A begin that neither reserved nor found a row raced a delete; it starts over at most this often. */
const BEGIN_RETRIES = 3;

export interface PostgresStoreConfig {
  readonly pool: PgPool;
  /** Whether `close()` ends the pool (only a pool the store created itself). */
  readonly ownsPool: boolean;
  readonly names: Names;
  readonly pollIntervalMs: number;
  /** Send statements as named prepared statements (off behind a pooler that cannot keep them). */
  readonly preparedStatements: boolean;
  /** Accept standbys that commits do not wait for (a failover can lose reservations). */
  readonly allowAsynchronousStandbys: boolean;
}

/** The PostgreSQL store. Create it with `postgresStore`. */
export class PostgresStore implements Store {
  readonly name = 'postgres';
  readonly capabilities: StoreCapabilities = { serverClock: true, notifications: true };
  readonly #pool: PgPool;
  readonly #ownsPool: boolean;
  readonly #names: Names;
  readonly #sql: Statements;
  readonly #pollIntervalMs: number;
  readonly #listener: ChangeListener;
  readonly #prepared: boolean;
  readonly #allowAsynchronousStandbys: boolean;
  readonly #statementNames = new Map<string, string>();
  #migrated: Promise<void> | undefined;
  #closed = false;

  constructor(config: PostgresStoreConfig) {
    this.#pool = config.pool;
    this.#ownsPool = config.ownsPool;
    this.#names = config.names;
    this.#sql = statements(config.names);
    this.#pollIntervalMs = config.pollIntervalMs;
    this.#prepared = config.preparedStatements;
    this.#allowAsynchronousStandbys = config.allowAsynchronousStandbys;
    this.#listener = new ChangeListener(config.names.channel, () => connectListener(this.#pool));
  }

  /** The schema, tables and NOTIFY channel this store uses. */
  get names(): Names {
    return this.#names;
  }

  migrate(): Promise<void> {
    this.#open();
    // The replication check first: a refused primary gets no tables.
    const running = (this.#migrated ??= (async () => {
      judgeReplication(await readReplicationSettings(this.#pool), this.#allowAsynchronousStandbys);
      await migrate(this.#pool, this.#names);
    })());
    // A failed migration is tried again by the next call rather than remembered.
    running.catch(() => {
      if (this.#migrated === running) this.#migrated = undefined;
    });
    return running;
  }

  async begin(request: BeginRequest): Promise<BeginResult> {
    for (let round = 0; ; round++) {
      const row = await this.#one(this.#sql.begin, [
        request.key,
        request.operation,
        request.fingerprint,
        request.retryFailed,
        request.token,
        request.leaseMs,
        request.request ?? null,
        request.keyFields ?? null,
      ]);
      const reserved = jsonRow(row['reserved']);
      if (reserved !== undefined) {
        const record = toRecord(reserved);
        return { reserved: true, lease: leaseOf(record), record };
      }
      const existing = toRecordOrUndefined(jsonRow(row['existing']));
      if (existing !== undefined) return { reserved: false, record: existing, now: Number(row['now']) };
      // The conflicting row was inserted after this statement's snapshot, so `old` could not see it;
      // it is committed now.
      const read = await this.#one(this.#sql.read, [request.key]);
      const record = toRecordOrUndefined(jsonRow(read['existing']));
      if (record !== undefined) return { reserved: false, record, now: Number(read['now']) };
      if (round >= BEGIN_RETRIES) {
        throw new Error(`retrysafe: key ${request.key} kept appearing and disappearing during begin`);
      }
    }
  }

  async heartbeat(lease: Lease, leaseMs: number): Promise<FencedResult> {
    return fencedResult(
      await this.#one(this.#sql.heartbeat, [lease.key, lease.attempt, lease.token, leaseMs]),
    );
  }

  async settle(lease: Lease, settlement: Settlement): Promise<FencedResult> {
    assertState(settlement.state, [
      RecordState.Succeeded,
      RecordState.Failed,
      RecordState.Released,
      RecordState.Unknown,
    ]);
    const result = settlement.result ?? null;
    const providerRef = settlement.providerRef ?? null;
    const reason = settlement.reason ?? null;
    return fencedResult(
      await this.#one(this.#sql.settle, [
        lease.key,
        lease.attempt,
        lease.token,
        settlement.state,
        result,
        providerRef,
        reason,
        settlement.ttlMs,
        settlement.tombstoneMs,
        lease.generation,
        settlement.keyEvidence ?? null,
      ]),
    );
  }

  async noteUnknown(note: UnknownNote): Promise<FencedResult> {
    return fencedResult(
      await this.#one(this.#sql.noteUnknown, [
        note.key,
        note.attempt,
        note.reason,
        note.actor,
        note.action,
        note.answer,
      ]),
    );
  }

  async markUnknown(key: string, attempt: number, reason: string): Promise<FencedResult> {
    return fencedResult(await this.#one(this.#sql.markUnknown, [key, attempt, reason]));
  }

  async reclaim(request: ReclaimRequest): Promise<ReclaimResult> {
    const outcome = fencedResult(
      await this.#one(this.#sql.reclaim, [
        request.key,
        request.attempt,
        request.token,
        request.leaseMs,
        request.reason,
        request.keyEvidence ?? null,
        request.rekey === undefined ? null : JSON.stringify(request.rekey.evidence),
      ]),
    );
    return outcome.ok ? { ok: true, lease: leaseOf(outcome.record), record: outcome.record } : outcome;
  }

  async resolve(request: ResolveRequest): Promise<FencedResult> {
    assertState(request.state, [RecordState.Succeeded, RecordState.Failed, RecordState.Released]);
    return fencedResult(
      await this.#one(this.#sql.resolve, [
        request.key,
        request.attempt,
        request.state,
        request.result ?? null,
        request.providerRef ?? null,
        request.reason,
        request.actor,
        request.ttlMs,
        request.tombstoneMs,
        request.evidence ?? null,
        request.keyEvidence ?? null,
        request.newGeneration === undefined ? null : JSON.stringify(request.newGeneration.evidence),
      ]),
    );
  }

  async requestResolution(input: ResolutionRequestInput): Promise<FencedResult> {
    assertState(input.state, [RecordState.Succeeded, RecordState.Failed, RecordState.Released]);
    const row = await this.#one(this.#sql.requestResolution, [
      input.key,
      input.attempt,
      input.state,
      input.result,
      input.providerRef,
      input.reason,
      input.requestedBy,
      input.id,
      input.newGeneration === true,
    ]);
    const record = toRecordOrUndefined(jsonRow(row['previous']));
    return row['ok'] === true && record !== undefined ? { ok: true, record } : { ok: false, record };
  }

  async get(key: string): Promise<IdempotencyRecord | undefined> {
    const { rows } = await this.#query(this.#sql.get, [key]);
    return rows[0] === undefined ? undefined : toRecord(rows[0]);
  }

  async audit(key: string): Promise<AuditEntry[]> {
    const { rows } = await this.#query(this.#sql.audit, [key]);
    return rows.map(toAuditEntry);
  }

  async list(filter: ListFilter): Promise<IdempotencyRecord[]> {
    if (filter.states?.length === 0) return [];
    const { text, values } = this.#sql.list({
      states: filter.states,
      operation: filter.operation,
      updatedBefore: filter.updatedBefore,
      after: filter.after,
      limit: filter.limit ?? DEFAULT_LIST_LIMIT,
    });
    const { rows } = await this.#query(text, values);
    return rows.map(toRecord);
  }

  async count(filter: CountFilter = {}): Promise<RecordCounts> {
    if (filter.states?.length === 0) return emptyCounts(filter);
    this.#open();
    const placeholder = (n: number): string => `$${n}`;
    const records = this.#names.records;
    const grouped = groupedCount(records, filter, placeholder);
    const groups = await this.#pool.query(grouped.text, [...grouped.values]);
    const parts = countsFromGroups(filter, groups.rows as unknown as CountGroup[]);
    const keys = await Promise.all(
      parts.oldestGroups.map(async (group) => {
        const query = oldestKey(records, group, placeholder);
        const { rows } = await this.#pool.query(query.text, [...query.values]);
        return (rows[0] as { key: string } | undefined)?.key;
      }),
    );
    let lapsed: number | undefined;
    if (filter.lapsedAt !== undefined) {
      if (!statesOf(filter).includes(RecordState.InFlight)) lapsed = 0;
      else {
        const query = lapsedCount(records, filter, filter.lapsedAt, placeholder);
        const { rows } = await this.#pool.query(query.text, [...query.values]);
        lapsed = Number((rows[0] as { n: string | number }).n);
      }
    }
    return assembleCounts(filter, parts, keys, lapsed);
  }

  async requestOverride(input: OverrideRequestInput): Promise<OverrideAnswer> {
    const row = await this.#one(this.#sql.requestOverride, [
      input.id,
      input.key,
      input.fingerprint,
      input.requestedBy,
      input.reason,
      input.payload ?? null,
    ]);
    const override = jsonRow(row['override']);
    if (override !== undefined) return { ok: true, override: toOverride(override) };
    // The statement refused: the rule, run on the row it locked at its clock, says why.
    const record = toRecordOrUndefined(jsonRow(row['record']));
    return refused(
      overrideRefusal(input.key, record, input.fingerprint, Number(row['now'])) ?? {
        code: 'duplicate_request',
        id: input.id,
      },
    );
  }

  async approveOverride(id: string, approvedBy: string): Promise<OverrideAnswer> {
    const row = await this.#one(this.#sql.approveOverride, [id, approvedBy]);
    const approved = jsonRow(row['approved']);
    if (approved !== undefined) return { ok: true, override: toOverride(approved) };
    // The statement's `allowed` mirrors approvalRefusal; the rule, run on the rows it locked, says why.
    const found = jsonRow(row['pending']);
    const pending = found === undefined ? undefined : toOverride(found);
    const record = toRecordOrUndefined(jsonRow(row['record']));
    return refused(
      approvalRefusal(id, pending, approvedBy, record, Number(row['now'])) ?? {
        code: 'not_pending',
        id,
        status: pending?.status ?? 'pending',
      },
    );
  }

  async listOverrides(key?: string): Promise<OverrideRequest[]> {
    const { rows } =
      key === undefined
        ? await this.#query(this.#sql.overrides, [])
        : await this.#query(this.#sql.overridesOfKey, [key]);
    return rows.map(toOverride);
  }

  async gc(options: GcOptions = {}): Promise<GcSummary> {
    const batchSize = options.batchSize ?? DEFAULT_GC_BATCH;
    const maxBatches = options.maxBatches ?? Number.POSITIVE_INFINITY;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new ConfigurationError(`gc batchSize must be a positive integer, got ${batchSize}`);
    }
    // Compacting first (records past their tombstone are left to the deletion) moves compacted records
    // to their tombstone's end in the gc index, so the deletion mostly walks what it deletes (not when
    // compaction stopped at maxBatches or skipped locked rows; then it walks past those too).
    const compacted = await this.#batches(this.#sql.gcCompact, batchSize, maxBatches);
    const deleted = await this.#batches(this.#sql.gcDelete, batchSize, maxBatches);
    return { compacted, deleted };
  }

  waitForChange(key: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#listener.wait(key, Math.min(timeoutMs, this.#pollIntervalMs), signal);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#listener.close();
    if (this.#ownsPool) await this.#pool.end();
  }

  async #batches(text: string, batchSize: number, maxBatches: number): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      const row = await this.#one(text, [batchSize]);
      const count = Number(row['n']);
      total += count;
      if (count < batchSize) break;
    }
    return total;
  }

  #open(): void {
    if (this.#closed) throw new Error(`retrysafe: the ${this.name} store is closed`);
  }

  async #query(text: string, values: unknown[]): Promise<PgResult> {
    this.#open();
    if (!this.#prepared) return this.#pool.query(text, values);
    // The transition statements are long CTEs: parsing and planning them on every call costs more than
    // running them. Named statements are prepared once per connection; the name follows the text.
    let name = this.#statementNames.get(text);
    if (name === undefined) {
      name = `retrysafe_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
      this.#statementNames.set(text, name);
    }
    return this.#pool.query({ name, text, values });
  }

  async #one(text: string, values: unknown[]): Promise<Record<string, unknown>> {
    const { rows } = await this.#query(text, values);
    const row = rows[0];
    if (row === undefined) throw new Error('retrysafe: a store statement returned no row');
    return row;
  }
}

/** A fenced statement returns `changed` (applied) or only `previous` (refused: the current record). */
function fencedResult(row: Record<string, unknown>): FencedResult {
  const changed = jsonRow(row['changed']);
  if (changed !== undefined) return { ok: true, record: toRecord(changed) };
  return { ok: false, record: toRecordOrUndefined(jsonRow(row['previous'])) };
}

function assertState(state: string, allowed: readonly string[]): void {
  if (!allowed.includes(state)) {
    throw new ConfigurationError(`cannot settle a record as ${JSON.stringify(state)}`);
  }
}
