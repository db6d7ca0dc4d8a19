import { mayRekey } from './provider-key-evidence.ts';
import { RecordState, type IdempotencyRecord, type KeyEvidence, type SettledState } from './record.ts';

/**
 * The fenced transitions of a stored record, as pure functions: what every store writes when a holder
 * heartbeats or settles, a lapsed attempt is marked unknown, reclaimed or resolved. SQLite runs them
 * in-process; the PostgreSQL statements and Redis scripts mirror them in the server, each mirror naming
 * the function here, and the store contract's model test pins the three stores to the same answers.
 */

/** The claim a holder presents: the store's `Lease` (only what the fence reads). */
export interface HeldClaim {
  readonly attempt: number;
  readonly token: string;
}

/** What a reclaim asks for: the store's `ReclaimRequest` (only what the transition reads). */
export interface ReclaimClaim {
  readonly token: string;
  readonly leaseMs: number;
  readonly keyEvidence?: NonNullable<KeyEvidence> | undefined;
  /** Present: a new generation (only for a burned key, `mayReclaim`). */
  readonly rekey?: unknown;
}

/** How a record ends an attempt (a holder's settlement or a resolution). */
export interface Outcome {
  readonly state: SettledState | typeof RecordState.Unknown;
  readonly result?: string | null | undefined;
  readonly providerRef?: string | null | undefined;
  readonly reason?: string | null | undefined;
  readonly ttlMs: number;
  readonly tombstoneMs: number;
  readonly keyEvidence?: NonNullable<KeyEvidence> | undefined;
  /** A released resolution that starts a new generation. */
  readonly newGeneration?: unknown;
}

/** The fence: the record is in flight under exactly this attempt and token. */
export function holds(record: IdempotencyRecord | undefined, lease: HeldClaim): record is IdempotencyRecord {
  return (
    record !== undefined &&
    record.state === RecordState.InFlight &&
    record.attempt === lease.attempt &&
    record.leaseOwner === lease.token
  );
}

/** The record after an attempt ends; `unknown` never expires. */
export function endedRecord(record: IdempotencyRecord, outcome: Outcome, now: number): IdempotencyRecord {
  const expires = outcome.state !== RecordState.Unknown;
  const rekey = outcome.newGeneration !== undefined && outcome.state === RecordState.Released;
  return {
    ...record,
    ...(rekey ? { generation: record.generation + 1, createdAt: now } : {}),
    keyEvidence: rekey ? null : (outcome.keyEvidence ?? record.keyEvidence),
    state: outcome.state,
    leaseOwner: null,
    leaseUntil: null,
    result: outcome.result ?? null,
    providerRef: outcome.providerRef ?? null,
    reason: outcome.reason ?? null,
    updatedAt: now,
    expiresAt: expires ? now + outcome.ttlMs : null,
    tombstoneUntil: expires ? now + outcome.ttlMs + outcome.tombstoneMs : null,
  };
}

/** A lapsed in-flight record whose holder vanished: nobody knows what happened. */
export function unknownRecord(record: IdempotencyRecord, reason: string, now: number): IdempotencyRecord {
  return {
    ...record,
    state: RecordState.Unknown,
    leaseOwner: null,
    leaseUntil: null,
    reason,
    updatedAt: now,
    expiresAt: null,
    tombstoneUntil: null,
  };
}

/**
 * An unknown record after a reconciliation step that did not settle it: only the reason changes, so
 * its age and the provider's settle delay still count from the attempt.
 */
export function notedRecord(record: IdempotencyRecord, reason: string): IdempotencyRecord {
  return { ...record, reason };
}

/** Whether a reclaim may apply: a rekey needs a burned key (`mayRekey`). */
export function mayReclaim(record: IdempotencyRecord, request: ReclaimClaim): boolean {
  return request.rekey === undefined || mayRekey(record.keyEvidence);
}

/**
 * A new attempt after reconciliation showed it is safe: in the same generation, or (rekey) in the next,
 * whose provider key is new, so its evidence and its retention (`createdAt`) start over.
 */
export function reclaimedRecord(
  record: IdempotencyRecord,
  request: ReclaimClaim,
  now: number,
): IdempotencyRecord {
  const rekey = request.rekey !== undefined;
  return {
    ...record,
    state: RecordState.InFlight,
    attempt: record.attempt + 1,
    generation: rekey ? record.generation + 1 : record.generation,
    keyEvidence: rekey ? null : (request.keyEvidence ?? record.keyEvidence),
    createdAt: rekey ? now : record.createdAt,
    leaseOwner: request.token,
    // The record moves on: an approval given before lapses (decide.ts overrideApplies).
    overrideFingerprint: null,
    overrideAttempt: null,
    leaseUntil: now + request.leaseMs,
    result: null,
    providerRef: null,
    reason: null,
    updatedAt: now,
    expiresAt: null,
    tombstoneUntil: null,
  };
}
