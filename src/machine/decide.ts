import { isLeaseLive } from './lapse.ts';
import { evidenceOnReserve } from './provider-key-evidence.ts';
import { RecordState, type IdempotencyRecord } from './record.ts';

/** What the caller brings to a key. */
export interface Incoming {
  readonly fingerprint: string;
  /** Per operation: a stored `failed` outcome allows a new attempt instead of replaying the failure. */
  readonly retryFailed: boolean;
}

/**
 * The conflict table as data. Every store's reserve predicate and the executor's next step come from
 * here, so the table in docs/design.md, the SQL, the Lua and the behaviour cannot drift apart.
 */
export type Decision =
  /** Claim the key: a new attempt (and, for overrides, a new generation). */
  | {
      readonly kind: 'reserve';
      readonly attempt: number;
      readonly generation: number;
      /** The record starts over (none, past its tombstone, or an override): createdAt resets. */
      readonly fresh: boolean;
      readonly override: boolean;
    }
  /** Return the stored outcome (a result, or the stored failure). */
  | { readonly kind: 'replay'; readonly record: IdempotencyRecord }
  /** Past the TTL, inside tombstone retention: only the summary remains. */
  | { readonly kind: 'tombstone'; readonly record: IdempotencyRecord }
  /** Another attempt holds a live lease: wait for it. */
  | { readonly kind: 'wait'; readonly record: IdempotencyRecord; readonly leaseUntil: number }
  /** In flight with a lapsed lease, or unknown: find out what happened before anything else. */
  | { readonly kind: 'reconcile'; readonly record: IdempotencyRecord }
  /** Same key, different payload. */
  | { readonly kind: 'mismatch'; readonly record: IdempotencyRecord };

export type DecisionKind = Decision['kind'];

/** Whether the record is gone for good: past its tombstone, so the key means a new logical write. */
export function isPastTombstone(record: IdempotencyRecord, now: number): boolean {
  // Only settled records expire: in_flight and unknown hold the evidence of a write that may have happened.
  const settled = record.state !== RecordState.InFlight && record.state !== RecordState.Unknown;
  return settled && record.tombstoneUntil !== null && now >= record.tombstoneUntil;
}

/**
 * Whether the record holds an approved override to `fingerprint` that still applies: it was approved
 * against the record's current attempt. The approval was given for a settled record as the approver saw
 * it; any transition since (a retry of a failed write, a reclaim, a new generation) bumps the attempt,
 * and the approval lapses with it rather than turning into a second write on top of a newer outcome.
 */
export function overrideApplies(record: IdempotencyRecord, fingerprint: string): boolean {
  return (
    (record.state === RecordState.Succeeded || record.state === RecordState.Failed) &&
    record.overrideFingerprint === fingerprint &&
    record.overrideAttempt === record.attempt
  );
}

/**
 * Decides what a call with `incoming` does with the key whose stored record is `record` (or none), at
 * store time `now`. Pure: no I/O, no clock.
 */
export function decide(record: IdempotencyRecord | undefined, incoming: Incoming, now: number): Decision {
  if (record === undefined || isPastTombstone(record, now)) {
    return {
      kind: 'reserve',
      attempt: (record?.attempt ?? 0) + 1,
      generation: record?.generation ?? 1,
      fresh: true,
      override: false,
    };
  }
  const same = record.fingerprint === incoming.fingerprint;
  const next = { attempt: record.attempt + 1, generation: record.generation } as const;

  switch (record.state) {
    case RecordState.InFlight:
      if (!same) return { kind: 'mismatch', record };
      if (isLeaseLive(record, now)) return { kind: 'wait', record, leaseUntil: record.leaseUntil };
      return { kind: 'reconcile', record };
    case RecordState.Unknown:
      return same ? { kind: 'reconcile', record } : { kind: 'mismatch', record };
    case RecordState.Released:
      return same
        ? { kind: 'reserve', ...next, fresh: false, override: false }
        : { kind: 'mismatch', record };
    case RecordState.Succeeded:
    case RecordState.Failed: {
      const expired = record.expiresAt !== null && now >= record.expiresAt;
      if (expired) return same ? { kind: 'tombstone', record } : { kind: 'mismatch', record };
      if (!same) {
        return overrideApplies(record, incoming.fingerprint)
          ? {
              kind: 'reserve',
              attempt: next.attempt,
              generation: next.generation + 1,
              fresh: true,
              override: true,
            }
          : { kind: 'mismatch', record };
      }
      if (record.state === RecordState.Failed && incoming.retryFailed) {
        return { kind: 'reserve', ...next, fresh: false, override: false };
      }
      return { kind: 'replay', record };
    }
  }
}

/** The record a `reserve` decision produces. Stores that run `decide` in-process apply it with this. */
export function reservedRecord(
  previous: IdempotencyRecord | undefined,
  decision: Extract<Decision, { kind: 'reserve' }>,
  input: {
    key: string;
    operation: string;
    fingerprint: string;
    token: string;
    leaseMs: number;
    request?: string | null | undefined;
    keyFields?: string | null | undefined;
  },
  now: number,
): IdempotencyRecord {
  return {
    key: input.key,
    operation: input.operation,
    fingerprint: input.fingerprint,
    state: RecordState.InFlight,
    attempt: decision.attempt,
    generation: decision.generation,
    leaseOwner: input.token,
    leaseUntil: now + input.leaseMs,
    result: null,
    request: input.request ?? null,
    keyFields: input.keyFields ?? null,
    providerRef: null,
    reason: null,
    // Any reservation moves the record on, so whatever approval it held lapses (see overrideApplies).
    overrideFingerprint: null,
    overrideAttempt: null,
    keyEvidence: evidenceOnReserve(previous, decision.generation, decision.fresh),
    createdAt: decision.fresh || previous === undefined ? now : previous.createdAt,
    updatedAt: now,
    expiresAt: null,
    tombstoneUntil: null,
  };
}
