/**
 * The lifecycle rules the world drives, in one place: the real pure machine (`decide`, `reservedRecord`)
 * and the stores' pure transitions, plus the reconcile plan the executor follows. Everything the world
 * decides goes through a `Rules` value, so a test can inject a variant that breaks one rule on purpose
 * (a mutation) and see the checker catch it.
 */
import { decide, reservedRecord } from '../src/machine/decide.ts';
import { RecordState, type IdempotencyRecord, type SettledState } from '../src/machine/record.ts';
import {
  endedRecord,
  holds,
  isLapsed,
  isUnsettled,
  reclaimedRecord,
  unknownRecord,
} from '../src/stores/sqlite/transitions.ts';
import type { OperationPolicy } from '../src/executor/policy.ts';
import type { Lease } from '../src/stores/types.ts';

/** What reconciliation does with an unknown (or lapsed) record. */
export type ReconcilePlan =
  /** Another attempt still holds a live lease. */
  | { readonly kind: 'wait' }
  /** Claim a new attempt and re-send under the same provider key (the provider still remembers it). */
  | { readonly kind: 'resend' }
  /** Ask the provider's lookup first. */
  | { readonly kind: 'lookup' }
  /** Nothing can establish the outcome: `OutcomeUnknown`, for a person. */
  | { readonly kind: 'blocked' };

/** How a new attempt is claimed: in the same generation, or (rekey) under a new provider key. */
export interface Claim {
  readonly rekey: boolean;
  /** The provider-key evidence the new attempt starts with, where the rules keep any. */
  readonly keyEvidence: string | null;
}

/** What a lookup's `absent` allows. */
export type AbsentStep = { readonly kind: 'claim'; readonly claim: Claim } | { readonly kind: 'wait' };

/** How the worker saw its call end (the world's `CallAnswer`, as the rules read it). */
export type AttemptEnd = 'ok' | '5xx' | 'timeout' | 'refused' | 'aborted';

export interface Rules {
  readonly name: string;
  readonly decide: typeof decide;
  readonly reservedRecord: typeof reservedRecord;
  /** The fence on every holder's write. */
  readonly holds: (record: IdempotencyRecord | undefined, lease: Lease) => boolean;
  readonly isLapsed: typeof isLapsed;
  readonly isUnsettled: typeof isUnsettled;
  readonly unknownRecord: typeof unknownRecord;
  /** The record after the holder settles its attempt as `state` (the call ended `end`). */
  readonly settled: (
    record: IdempotencyRecord,
    state: SettledState | typeof RecordState.Unknown,
    end: AttemptEnd,
    policy: OperationPolicy,
    now: number,
  ) => IdempotencyRecord;
  /** The record after a reconciler or a person resolves it (`rekey`: a person asks for a new generation). */
  readonly resolved: (
    record: IdempotencyRecord,
    state: SettledState,
    policy: OperationPolicy,
    now: number,
    rekey: boolean,
  ) => IdempotencyRecord;
  /** The reclaimed record, or undefined when the store refuses the claim. */
  readonly reclaim: (
    record: IdempotencyRecord,
    attempt: number,
    claim: Claim,
    token: string,
    leaseMs: number,
    now: number,
  ) => IdempotencyRecord | undefined;
  /** The reconcile step for `record`, read at store time `now`. */
  readonly planReconcile: (
    record: IdempotencyRecord,
    policy: OperationPolicy,
    now: number,
    hasLookup: boolean,
  ) => ReconcilePlan;
  /** After the lookup answered `absent` about `record` (read at `now`). */
  readonly afterAbsent: (record: IdempotencyRecord, policy: OperationPolicy, now: number) => AbsentStep;
  /** The store's review rule: an override is approved only by an identity other than its requester. */
  readonly approvalAllowed: (requestedBy: string, approvedBy: string) => boolean;
  /** The attempt's deadline in ms after it was claimed (null: none), as the lease keeper applies it. */
  readonly attemptTimeoutMs: (policy: OperationPolicy) => number | null;
}

const lifetime = (policy: OperationPolicy) => ({ ttlMs: policy.ttlMs, tombstoneMs: policy.tombstoneMs });
const resultOf = (state: string): string | null =>
  state === RecordState.Succeeded ? '{"value":"charged"}' : null;

/**
 * Today's executor (src/executor/reconcile.ts): re-send while the provider keeps the key, else look up,
 * and trust `absent` only after the settle delay. Kept in this module so the world can switch to the
 * machine's own plan once it exists.
 */
function planReconcileToday(
  record: IdempotencyRecord,
  policy: OperationPolicy,
  now: number,
  hasLookup: boolean,
): ReconcilePlan {
  if (policy.resendWithinMs > 0 && now < record.createdAt + policy.resendWithinMs) return { kind: 'resend' };
  return hasLookup ? { kind: 'lookup' } : { kind: 'blocked' };
}

function afterAbsentToday(record: IdempotencyRecord, policy: OperationPolicy, now: number): AbsentStep {
  return now < record.updatedAt + policy.lookupSettleMs
    ? { kind: 'wait' }
    : { kind: 'claim', claim: { rekey: false, keyEvidence: null } };
}

/** The rules retrysafe runs today. */
export const CURRENT_RULES: Rules = {
  name: 'current',
  decide,
  reservedRecord,
  holds,
  isLapsed,
  isUnsettled,
  unknownRecord,
  settled: (record, state, _end, policy, now) =>
    endedRecord(record, { state, result: resultOf(state), ...lifetime(policy) }, now),
  resolved: (record, state, policy, now) =>
    endedRecord(record, { state, result: resultOf(state), ...lifetime(policy) }, now),
  reclaim: (record, attempt, claim, token, leaseMs, now) =>
    claim.rekey || !isUnsettled(record, attempt, now)
      ? undefined
      : reclaimedRecord(record, { key: record.key, attempt, token, leaseMs, reason: 'model' }, now),
  planReconcile: planReconcileToday,
  afterAbsent: afterAbsentToday,
  approvalAllowed: (requestedBy, approvedBy) => requestedBy !== approvedBy,
  // The lease keeper renews for as long as the call has not returned (no attempt deadline yet).
  attemptTimeoutMs: () => null,
};

/** True when a record holds the evidence of a write that may have happened. */
export function isOpen(record: IdempotencyRecord): boolean {
  return record.state === RecordState.InFlight || record.state === RecordState.Unknown;
}
