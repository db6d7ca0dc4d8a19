import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { checkedClock, type Clock } from '../../clock.ts';
import { ConfigurationError } from '../../errors/errors.ts';
import type { AuditEntry, IdempotencyRecord, OverrideRequest } from '../../machine/record.ts';
import type {
  BeginRequest,
  BeginResult,
  FencedResult,
  GcOptions,
  GcSummary,
  Lease,
  CountFilter,
  ListFilter,
  OverrideAnswer,
  RecordCounts,
  OverrideRequestInput,
  ReclaimRequest,
  ReclaimResult,
  ResolutionRequestInput,
  ResolveRequest,
  Settlement,
  Store,
  StoreCapabilities,
  UnknownNote,
} from '../types.ts';
import { configure, openDatabase, type SqliteDatabase, type Synchronous } from './driver.ts';
import { SqliteOperations } from './operations.ts';
import { assertKnownVersion, migrate, schemaVersion, tablesFor, type Tables } from './schema.ts';
import { Statements } from './statements.ts';
import { emptyCounts } from '../record-counts.ts';

export interface SqliteStoreOptions {
  /** Database file, created when missing. Opened with better-sqlite3 (an optional peer dependency). */
  readonly path?: string;
  /**
   * An open better-sqlite3 `Database` to use instead of `path`. The store applies its pragmas to it but
   * leaves closing it to the caller.
   */
  readonly database?: SqliteDatabase;
  /** fsync level. `FULL` (default) loses no committed record on power loss; `NORMAL` may lose the last ones. */
  readonly synchronous?: Synchronous;
  /** How long a writer waits for another connection's write lock before failing. Default 5000. */
  readonly busyTimeoutMs?: number;
  /** Prefix of the store's tables: letters, digits and underscores. Default `retrysafe_`. */
  readonly tablePrefix?: string;
  /**
   * The clock every transition reads (leases, TTLs, tombstones, record times), for tests that move time
   * instead of sleeping; give `retrysafe({ clock })` the same one. Every process sharing the file must
   * agree on time, so outside tests leave it out. @default the process clock (`Date.now()`)
   */
  readonly clock?: Clock;
}

const DEFAULT_LIST_LIMIT = 100;
const DEFAULT_GC_BATCH = 500;
const SYNCHRONOUS: readonly Synchronous[] = ['FULL', 'NORMAL', 'EXTRA'];

/** Runs synchronous SQLite work behind the async `Store` interface; a throw becomes a rejection. */
function promised<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => {
    resolve(work());
  });
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen < 1) {
    throw new ConfigurationError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return chosen;
}

/** The SQLite store: one file, shared safely by any number of connections and processes. */
export class SqliteStore implements Store {
  readonly name = 'sqlite';
  readonly capabilities: StoreCapabilities = { serverClock: false, notifications: false };
  readonly #db: SqliteDatabase;
  readonly #ownsDatabase: boolean;
  readonly #tables: Tables;
  readonly #clock: Clock;
  #ready: { statements: Statements; operations: SqliteOperations } | undefined;

  constructor(options: SqliteStoreOptions) {
    const { path, database } = options;
    if ((path === undefined) === (database === undefined)) {
      throw new ConfigurationError('sqliteStore needs exactly one of `path` or `database`');
    }
    this.#tables = tablesFor(options.tablePrefix ?? 'retrysafe_');
    this.#clock = checkedClock(options.clock, 'sqliteStore');
    const synchronous = options.synchronous ?? 'FULL';
    if (!SYNCHRONOUS.includes(synchronous)) {
      throw new ConfigurationError(
        `synchronous must be one of ${SYNCHRONOUS.join(', ')}, got ${JSON.stringify(synchronous)}`,
      );
    }
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new ConfigurationError(
        `busyTimeoutMs must be a non-negative integer, got ${String(busyTimeoutMs)}`,
      );
    }
    this.#ownsDatabase = database === undefined;
    this.#db = database ?? openDatabase(path ?? '');
    try {
      configure(this.#db, busyTimeoutMs, synchronous);
    } catch (error) {
      if (this.#ownsDatabase) this.#db.close();
      throw error;
    }
  }

  migrate(): Promise<void> {
    return promised(() => {
      migrate(this.#db, this.#tables);
      this.#prepare();
    });
  }

  begin(request: BeginRequest): Promise<BeginResult> {
    return promised(() => this.#prepare().operations.begin(request));
  }

  heartbeat(lease: Lease, leaseMs: number): Promise<FencedResult> {
    return promised(() => this.#prepare().operations.heartbeat(lease, leaseMs));
  }

  settle(lease: Lease, settlement: Settlement): Promise<FencedResult> {
    return promised(() => this.#prepare().operations.settle(lease, settlement));
  }

  noteUnknown(note: UnknownNote): Promise<FencedResult> {
    return promised(() => this.#prepare().operations.noteUnknown(note));
  }

  markUnknown(key: string, attempt: number, reason: string): Promise<FencedResult> {
    return promised(() => this.#prepare().operations.markUnknown(key, attempt, reason));
  }

  reclaim(request: ReclaimRequest): Promise<ReclaimResult> {
    return promised(() => this.#prepare().operations.reclaim(request));
  }

  resolve(request: ResolveRequest): Promise<FencedResult> {
    return promised(() => this.#prepare().operations.resolve(request));
  }

  requestResolution(input: ResolutionRequestInput): Promise<FencedResult> {
    return promised(() => this.#prepare().operations.requestResolution(input));
  }

  get(key: string): Promise<IdempotencyRecord | undefined> {
    return promised(() => this.#prepare().statements.record(key));
  }

  audit(key: string): Promise<AuditEntry[]> {
    return promised(() => this.#prepare().statements.audit(key));
  }

  list(filter: ListFilter): Promise<IdempotencyRecord[]> {
    return promised(() => {
      const limit = positiveInteger(filter.limit, DEFAULT_LIST_LIMIT, 'limit');
      if (filter.states?.length === 0) return [];
      return this.#prepare().statements.list({
        states: filter.states,
        operation: filter.operation,
        updatedBefore: filter.updatedBefore,
        after: filter.after,
        limit,
      });
    });
  }

  count(filter: CountFilter = {}): Promise<RecordCounts> {
    return promised(() => {
      if (filter.states?.length === 0) return emptyCounts(filter);
      return this.#prepare().statements.count(filter);
    });
  }

  requestOverride(input: OverrideRequestInput): Promise<OverrideAnswer> {
    return promised(() => this.#prepare().operations.requestOverride(input));
  }

  approveOverride(id: string, approvedBy: string): Promise<OverrideAnswer> {
    return promised(() => this.#prepare().operations.approveOverride(id, approvedBy));
  }

  listOverrides(key?: string): Promise<OverrideRequest[]> {
    return promised(() => this.#prepare().statements.overrides(key));
  }

  /**
   * Compacts records past their TTL, then deletes records past their tombstone, each batch in its own
   * short transaction with the event loop (and other connections) let in between.
   */
  async gc(options: GcOptions = {}): Promise<GcSummary> {
    const batchSize = positiveInteger(options.batchSize, DEFAULT_GC_BATCH, 'batchSize');
    const maxBatches = options.maxBatches ?? Number.POSITIVE_INFINITY;
    const { operations } = this.#prepare();
    const drain = async (batch: (limit: number) => number): Promise<number> => {
      let total = 0;
      for (let round = 0; round < maxBatches; round++) {
        const changed = batch(batchSize);
        total += changed;
        if (changed < batchSize) break;
        await yieldToEventLoop();
      }
      return total;
    };
    // Compacting first moves compacted records to their tombstone's end in the gc index, so the deletion
    // mostly walks what it deletes (unless compaction stopped at maxBatches).
    const compacted = await drain(operations.compactBatch);
    const deleted = await drain(operations.deleteBatch);
    return { compacted, deleted };
  }

  close(): Promise<void> {
    return promised(() => {
      if (this.#ownsDatabase && this.#db.open) this.#db.close();
    });
  }

  /** Statements are prepared on first use, once the schema is known to be there and not too new. */
  #prepare(): { statements: Statements; operations: SqliteOperations } {
    if (this.#ready !== undefined) return this.#ready;
    const version = schemaVersion(this.#db, this.#tables);
    if (version === 0) {
      throw new ConfigurationError(
        `the retrysafe tables (prefix ${this.#tables.prefix}) do not exist yet: run store.migrate() first`,
      );
    }
    assertKnownVersion(version);
    const statements = new Statements(this.#db, this.#tables);
    this.#ready = { statements, operations: new SqliteOperations(this.#db, statements, this.#clock) };
    return this.#ready;
  }
}
