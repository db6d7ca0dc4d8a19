import { RecordState, type IdempotencyRecord, type SettledState } from '../../machine/record.ts';
import type { Lease } from '../../stores/types.ts';

/** How a record ends an attempt (a holder's settlement or a resolution). */
export interface Outcome {
  readonly state: SettledState | typeof RecordState.Unknown;
  readonly result?: string | null | undefined;
  readonly providerRef?: string | null | undefined;
  readonly reason?: string | null | undefined;
  readonly ttlMs: number;
  readonly tombstoneMs: number;
}

/** The fence: the record is in flight under exactly this attempt and token. */
export function holds(record: IdempotencyRecord | undefined, lease: Lease): record is IdempotencyRecord {
  return (
    record !== undefined &&
    record.state === RecordState.InFlight &&
    record.attempt === lease.attempt &&
    record.leaseOwner === lease.token
  );
}

/** In flight with a lease that has run out (`now >= leaseUntil`, as `decide` reads it). */
export function isLapsed(record: IdempotencyRecord, now: number): boolean {
  return record.state === RecordState.InFlight && (record.leaseUntil === null || now >= record.leaseUntil);
}

/** Unknown, or lapsed in flight, at exactly `attempt`: what reclaim and resolve may act on. */
export function isUnsettled(
  record: IdempotencyRecord | undefined,
  attempt: number,
  now: number,
): record is IdempotencyRecord {
  return (
    record !== undefined &&
    record.attempt === attempt &&
    (record.state === RecordState.Unknown || isLapsed(record, now))
  );
}

/** The record after an attempt ends; `unknown` never expires. */
export function endedRecord(record: IdempotencyRecord, outcome: Outcome, now: number): IdempotencyRecord {
  const expires = outcome.state !== RecordState.Unknown;
  return {
    ...record,
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

/** A new attempt in the same generation (after reconciliation showed it is safe). */
export function reclaimedRecord(
  record: IdempotencyRecord,
  token: string,
  leaseMs: number,
  now: number,
): IdempotencyRecord {
  return {
    ...record,
    state: RecordState.InFlight,
    attempt: record.attempt + 1,
    leaseOwner: token,
    // The record moves on: an approval given before lapses (decide.ts overrideApplies).
    overrideFingerprint: null,
    overrideAttempt: null,
    leaseUntil: now + leaseMs,
    result: null,
    providerRef: null,
    reason: null,
    updatedAt: now,
    expiresAt: null,
    tombstoneUntil: null,
  };
}
