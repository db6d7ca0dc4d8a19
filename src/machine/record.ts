/** The states a record can be in. Plain values so they serialize and compare without ceremony. */
export const RecordState = {
  /** An attempt holds the lease and may be calling downstream. */
  InFlight: 'in_flight',
  /** The write happened; the result is stored and replayed. */
  Succeeded: 'succeeded',
  /** The provider definitively refused; replayed as that failure (or retried, per operation). */
  Failed: 'failed',
  /** Nobody knows whether the write happened. Blocks new attempts until reconciled or resolved. */
  Unknown: 'unknown',
  /** The attempt provably never reached the provider; the key is free for the same payload. */
  Released: 'released',
} as const;
export type RecordState = (typeof RecordState)[keyof typeof RecordState];

/** States a holder, a reconciler or a person can settle an attempt into. */
export type SettledState =
  typeof RecordState.Succeeded | typeof RecordState.Failed | typeof RecordState.Released;

/**
 * The durable record of one key. Times are milliseconds since the epoch on the store's clock.
 * `result` is the serialized result (or failure summary) and is dropped when the record is compacted
 * into a tombstone.
 */
export interface IdempotencyRecord {
  readonly key: string;
  /** `name@version` of the operation that owns the key. */
  readonly operation: string;
  /** `sha256:<hex>` of the canonical payload of the current generation. */
  readonly fingerprint: string;
  readonly state: RecordState;
  /** Fencing token: goes up by one with every claim of the key, never down. */
  readonly attempt: number;
  /** Goes up by one with every approved override; part of the provider key. */
  readonly generation: number;
  /** Random token of the attempt that holds the lease (in_flight only). */
  readonly leaseOwner: string | null;
  /** When the lease lapses (in_flight only). */
  readonly leaseUntil: number | null;
  readonly result: string | null;
  /**
   * The request that was sent (the canonical payload, or an integration's request envelope), so that
   * reconciliation can look up or re-send without the caller's input. Dropped at compaction.
   */
  readonly request: string | null;
  /**
   * The key fields the key was derived from, as canonical JSON: the logical identity (an order id) a
   * lookup searches the provider by, also from a stored record without the caller's input. Identifiers,
   * not the payload, so compaction keeps them. Null on records written before it was kept.
   */
  readonly keyFields: string | null;
  readonly providerRef: string | null;
  /** Why the record is unknown, failed or released, in words. */
  readonly reason: string | null;
  /** Fingerprint of an approved, unused override. */
  readonly overrideFingerprint: string | null;
  /**
   * The attempt the override was approved against. The approval holds only while the record is still at
   * that attempt: any move of the record (a retry, a reclaim, a new generation) lapses it.
   */
  readonly overrideAttempt: number | null;
  /** When the current generation was first reserved. */
  readonly createdAt: number;
  readonly updatedAt: number;
  /** End of the full record; then a tombstone until `tombstoneUntil`. Null while in_flight or unknown. */
  readonly expiresAt: number | null;
  readonly tombstoneUntil: number | null;
}

/**
 * Append-only audit events: what a record cannot show, or must outlive it. The routine path (reserve,
 * settle) is not logged: the record itself is its trail, and logging it would double every call's writes.
 */
export const AuditEvent = {
  MarkedUnknown: 'marked_unknown',
  /** Reconciliation asked (a lookup, a re-send) and the outcome is still unknown: the answer it got. */
  StillUnknown: 'still_unknown',
  Reclaimed: 'reclaimed',
  Resolved: 'resolved',
  /** A person asked to resolve an unknown outcome without evidence; a second person must approve it. */
  ResolutionRequested: 'resolution_requested',
  LateWrite: 'late_write',
  OverrideRequested: 'override_requested',
  OverrideApproved: 'override_approved',
  OverrideUsed: 'override_used',
} as const;
export type AuditEvent = (typeof AuditEvent)[keyof typeof AuditEvent];

export interface AuditEntry {
  readonly id: number;
  readonly key: string;
  readonly at: number;
  readonly event: AuditEvent;
  readonly attempt: number;
  /** Who did it: `executor` for the library itself, else the identity given to resolve/override. */
  readonly actor: string;
  /** JSON text with the event's details (a late write keeps its whole settlement here). */
  readonly detail: string;
}

export const OverrideStatus = {
  Pending: 'pending',
  Approved: 'approved',
  Used: 'used',
} as const;
export type OverrideStatus = (typeof OverrideStatus)[keyof typeof OverrideStatus];

/** A reviewed permission for one key to move to one new payload, once. */
export interface OverrideRequest {
  readonly id: string;
  readonly key: string;
  /** The new payload fingerprint the override allows. */
  readonly fingerprint: string;
  /** Generation of the record when requested; approval is refused if it has moved on. */
  readonly generation: number;
  /** Attempt of the record when requested; approval is refused if it has moved on. */
  readonly attempt: number;
  /**
   * The proposed payload as canonical JSON (RFC 8785), so the approver sees what will be sent; its
   * fingerprint is `fingerprint`. Null for requests made before payloads were stored.
   */
  readonly payload: string | null;
  readonly requestedBy: string;
  readonly reason: string;
  readonly requestedAt: number;
  readonly approvedBy: string | null;
  readonly approvedAt: number | null;
  readonly status: OverrideStatus;
}
