import type { OverrideRefusal } from '../machine/overrides.ts';
import type {
  AuditEntry,
  IdempotencyRecord,
  KeyEvidence,
  OverrideRequest,
  RecordState,
  SettledState,
} from '../machine/record.ts';

/**
 * The claim an attempt holds on a key. Every write an attempt makes is conditioned on `attempt` and
 * `token` (the fencing check), so a holder that lost its claim can never overwrite a newer attempt.
 */
export interface Lease {
  readonly key: string;
  readonly attempt: number;
  readonly generation: number;
  /** Random per attempt; guards against a reused attempt number after a record was deleted. */
  readonly token: string;
  /** Lease end on the store's clock. */
  readonly leaseUntil: number;
}

export interface BeginRequest {
  readonly key: string;
  /** `name@version`. */
  readonly operation: string;
  readonly fingerprint: string;
  readonly retryFailed: boolean;
  /** Token for the lease if this call reserves. */
  readonly token: string;
  readonly leaseMs: number;
  /** What is about to be sent, kept on the record for reconciliation (null: not kept). */
  readonly request?: string | null;
  /** The canonical key fields, kept on the record so a lookup can search by them (null: not kept). */
  readonly keyFields?: string | null;
}

/**
 * Result of `begin`: either this call now holds the key, or the key's current record (unchanged) and the
 * store time at which it was read, for `decide` to tell the executor what to do next.
 */
export type BeginResult =
  | { readonly reserved: true; readonly lease: Lease; readonly record: IdempotencyRecord }
  | { readonly reserved: false; readonly record: IdempotencyRecord; readonly now: number };

/** How a holder ends its attempt. */
export interface Settlement {
  readonly state: SettledState | typeof RecordState.Unknown;
  readonly result?: string | null;
  readonly providerRef?: string | null;
  readonly reason?: string | null;
  /** How long the full record lives (ignored for `unknown`, which never expires). */
  readonly ttlMs: number;
  /** How long the compact tombstone lives after the TTL. */
  readonly tombstoneMs: number;
  /**
   * The provider-key evidence after this attempt (`src/machine/provider-key-evidence.ts`), written with
   * the settlement. Omitted: unchanged.
   */
  readonly keyEvidence?: NonNullable<KeyEvidence>;
}

/** What a new generation is recorded with: the `rekeyed` audit entry's evidence (JSON data). */
export interface Rekey {
  /** Which answer burned the key, which lookup answered absent and when: shown as is in the audit log. */
  readonly evidence: Readonly<Record<string, unknown>>;
}

/** Outcome of a fenced write: applied, or refused because the record moved on (then `record` is current). */
export type FencedResult =
  | { readonly ok: true; readonly record: IdempotencyRecord }
  | { readonly ok: false; readonly record: IdempotencyRecord | undefined };

export interface ReclaimRequest {
  readonly key: string;
  /** The attempt the caller saw as unknown or lapsed. */
  readonly attempt: number;
  readonly token: string;
  readonly leaseMs: number;
  /** Why a new attempt is safe (lookup said absent, or a re-send under the provider's key). */
  readonly reason: string;
  /** The provider-key evidence the new attempt starts with. Omitted: unchanged. */
  readonly keyEvidence?: NonNullable<KeyEvidence>;
  /**
   * Start a new generation (a new provider key, same logical key, payload and fingerprint; evidence
   * reset; `createdAt` restarts, since the provider's retention of the new key does). Refused (`ok:
   * false`) unless the record's `keyEvidence` is `burned`. Audited as `rekeyed` instead of `reclaimed`.
   */
  readonly rekey?: Rekey;
}

/** Result of `reclaim`: the new attempt's lease, or the current record when it moved on. */
export type ReclaimResult =
  | { readonly ok: true; readonly lease: Lease; readonly record: IdempotencyRecord }
  | { readonly ok: false; readonly record: IdempotencyRecord | undefined };

export interface ResolveRequest {
  readonly key: string;
  /** The attempt the resolver looked at; the resolution is refused if the record moved on. */
  readonly attempt: number;
  readonly state: SettledState;
  readonly result?: string | null;
  readonly providerRef?: string | null;
  readonly reason: string;
  /** Who resolved: `reconciler` for lookups, a person's identity otherwise. */
  readonly actor: string;
  readonly ttlMs: number;
  readonly tombstoneMs: number;
  /** The provider-key evidence the resolution leaves (a reconciler's trusted `absent`). Omitted: unchanged. */
  readonly keyEvidence?: NonNullable<KeyEvidence>;
  /**
   * Only with `released`: the next attempt starts a new generation (a new provider key; evidence reset;
   * `createdAt` restarts). Asked for by a person (`rs.resolve(..., { newGeneration: true })`) or by a
   * reconciler after a trusted absent on a burned key. Audited as `rekeyed` besides `resolved`.
   */
  readonly newGeneration?: Rekey;
  /**
   * JSON text of what the resolution rests on (a provider reference, a lookup answer, a second person's
   * approval of a request), kept as `evidence` in the `resolved` audit entry. Null: none given.
   */
  readonly evidence?: string | null;
}

/** A person's request to resolve an unknown outcome, waiting for a second person (kept in the audit log). */
export interface ResolutionRequestInput {
  readonly id: string;
  readonly key: string;
  /** The attempt the requester looked at; refused unless the record is still unknown (or lapsed) there. */
  readonly attempt: number;
  readonly state: SettledState;
  readonly result: string | null;
  readonly providerRef: string | null;
  readonly reason: string;
  readonly requestedBy: string;
  /**
   * Only with `released`: the approval is to start a new generation (`ResolveRequest.newGeneration`).
   * Kept in the request's audit detail as `newGeneration` (true or false). Omitted: false.
   */
  readonly newGeneration?: boolean;
}

/** What a reconciliation step that left the record unknown learned (`Store.noteUnknown`). */
export interface UnknownNote {
  readonly key: string;
  /** The unknown attempt that was asked about; the note is refused if the record moved on. */
  readonly attempt: number;
  /** What was tried: a provider lookup, or a re-send under the same provider key. */
  readonly action: 'lookup' | 'resend';
  /** Its answer in one word: `unknown`, `absent` (not yet trusted), `error` (it threw or timed out). */
  readonly answer: string;
  /** The answer in words; it becomes the record's reason. */
  readonly reason: string;
  /** Who asked: `reconciler` for the library. */
  readonly actor: string;
}

export interface OverrideRequestInput {
  readonly id: string;
  readonly key: string;
  readonly fingerprint: string;
  readonly requestedBy: string;
  readonly reason: string;
  /** The proposed payload as canonical JSON, shown to the approver (null: not kept). */
  readonly payload?: string | null;
}

/**
 * The answer to `requestOverride` and `approveOverride`: the request, or why it was refused, as a code
 * with its fields (`refusal`, decided by src/machine/overrides.ts) and in words (`reason`, the same on
 * every store: `refusalText` in src/stores/refusals.ts).
 */
export type OverrideAnswer =
  | { readonly ok: true; readonly override: OverrideRequest }
  | { readonly ok: false; readonly refusal: OverrideRefusal; readonly reason: string };

/** A place in `list`'s order (oldest update first, then key): the last record of the page before. */
export interface ListCursor {
  readonly updatedAt: number;
  readonly key: string;
}

export interface ListFilter {
  readonly states?: readonly RecordState[];
  readonly operation?: string;
  /** Only records last updated before this store time. */
  readonly updatedBefore?: number;
  /** Only records after this place in the order: pass the last record of the previous page. */
  readonly after?: ListCursor;
  /** At most this many, oldest update first (then by key). Default 100. */
  readonly limit?: number;
}

export interface CountFilter {
  /** Default: every state. */
  readonly states?: readonly RecordState[];
  readonly operation?: string;
  /** Only records last updated before this store time. */
  readonly updatedBefore?: number;
  /** Also break the counts down by operation. */
  readonly byOperation?: boolean;
  /**
   * Also count the in-flight records (of the filter) whose lease has lapsed at this time: no lease
   * end, or one at or before it (`isLapsed` in src/machine/, mirrored in each store's query).
   */
  readonly lapsedAt?: number;
}

/** The oldest record of a state: its place in the list order and its operation. */
export interface OldestEntry extends ListCursor {
  readonly operation: string;
}

/** What `count` answers, from indexes: no record is read. */
export interface RecordCounts {
  /** Every state of the filter, 0 when it has none. */
  readonly byState: Readonly<Partial<Record<RecordState, number>>>;
  /** With `byOperation`: operation to state to count (states without records left out). */
  readonly byOperation?: Readonly<Record<string, Readonly<Partial<Record<RecordState, number>>>>>;
  /** With `lapsedAt`: in-flight records whose lease has lapsed. */
  readonly lapsedInFlight?: number;
  /** Per state that has records: the first record `list` would return for it. */
  readonly oldest: Readonly<Partial<Record<RecordState, OldestEntry>>>;
}

export interface GcOptions {
  /** Rows per batch (one short transaction or statement each). Default 500. */
  readonly batchSize?: number;
  /** Stop after this many batches of each kind. Default unbounded. */
  readonly maxBatches?: number;
}

export interface GcSummary {
  /** Records past their TTL whose result was dropped, leaving a tombstone. */
  readonly compacted: number;
  /** Records past their tombstone retention, deleted. */
  readonly deleted: number;
}

export interface StoreCapabilities {
  /** Leases and expiry use the store server's clock rather than the client's. */
  readonly serverClock: boolean;
  /** `waitForChange` is woken by the server when a record changes (else the executor polls). */
  readonly notifications: boolean;
}

/**
 * The seam between the executor and a durable store. Every method that changes a record is one atomic
 * operation; every write by a holder is fenced on `attempt` and `token`. A store that passes
 * `runStoreContract` (`retrysafe/testing`) keeps the guarantees retrysafe documents.
 *
 * Errors: a method throws only when the store itself fails (connection, I/O); refusals are values.
 */
export interface Store {
  readonly name: string;
  readonly capabilities: StoreCapabilities;

  /** Creates or upgrades the schema. Idempotent; safe to run from several processes at once. */
  migrate(): Promise<void>;

  /**
   * Atomically reads the key and, when `decide` says `reserve`, claims it for a new attempt (writing an
   * audit entry). Otherwise returns the record untouched with the store time it was read at.
   */
  begin(request: BeginRequest): Promise<BeginResult>;

  /** Extends a live claim to `now + leaseMs`. Fenced. */
  heartbeat(lease: Lease, leaseMs: number): Promise<FencedResult>;

  /**
   * Ends the holder's attempt. Fenced: a stale holder's settlement is refused and appended to the audit
   * log as a `late_write`, because it may be the only evidence that a write happened.
   */
  settle(lease: Lease, settlement: Settlement): Promise<FencedResult>;

  /** `in_flight` with a lapsed lease at exactly `attempt` becomes `unknown`. */
  markUnknown(key: string, attempt: number, reason: string): Promise<FencedResult>;

  /**
   * Keeps what a reconciliation step that did not settle the record learned: an `unknown` record at
   * exactly `attempt` takes `note.reason` as its reason and the audit log gets a `still_unknown` entry
   * (`{ action, answer, reason }` in `detail`). Nothing else changes, `updatedAt` included: a provider's
   * settle delay counts from the attempt, not from the last question. Anything else is refused.
   */
  noteUnknown(note: UnknownNote): Promise<FencedResult>;

  /**
   * An `unknown` (or lapsed `in_flight`) record at exactly `attempt` gets a new attempt, in the same
   * generation or (`rekey`, burned keys only) the next. Returns the new lease, or the current record
   * when it moved on.
   */
  reclaim(request: ReclaimRequest): Promise<ReclaimResult>;

  /** An `unknown` (or lapsed `in_flight`) record at exactly `attempt` is settled by a reconciler or a person. */
  resolve(request: ResolveRequest): Promise<FencedResult>;

  /**
   * Appends a `resolution_requested` audit entry (actor = the requester; the request in `detail`) when
   * the record is `unknown` (or lapsed `in_flight`) at exactly `attempt`; otherwise `{ ok: false }` and
   * nothing is written. Changes no record: a second person's approval resolves it (`resolve`).
   */
  requestResolution(input: ResolutionRequestInput): Promise<FencedResult>;

  get(key: string): Promise<IdempotencyRecord | undefined>;
  audit(key: string): Promise<AuditEntry[]>;
  list(filter: ListFilter): Promise<IdempotencyRecord[]>;
  /**
   * Counts records per state (and per operation, lapsed in-flight records, the oldest per state) from
   * the store's indexes, without reading records: a store of millions answers at once.
   */
  count(filter?: CountFilter): Promise<RecordCounts>;

  /**
   * Records an override request. Refused (`ok: false`) unless the key is `succeeded` or `failed`, inside
   * its TTL, and the fingerprint differs from the stored one (`overrideRefusal`), or when the id is taken.
   */
  requestOverride(input: OverrideRequestInput): Promise<OverrideAnswer>;
  /**
   * Approves a pending request: refused when the approver is the requester, or the record's generation
   * or attempt moved on (`approvalRefusal`). On success the record accepts the override's fingerprint once.
   */
  approveOverride(id: string, approvedBy: string): Promise<OverrideAnswer>;
  listOverrides(key?: string): Promise<OverrideRequest[]>;

  /** Compacts records past their TTL into tombstones and deletes those past tombstone retention. */
  gc(options?: GcOptions): Promise<GcSummary>;

  /**
   * Resolves when the record may have changed, or after `timeoutMs`. Stores without notifications leave
   * it out and the executor polls.
   */
  waitForChange?(key: string, timeoutMs: number, signal?: AbortSignal): Promise<void>;

  close(): Promise<void>;
}
