/**
 * The lifecycle rules the world drives, in one place: the real pure machine (`decide`, `reservedRecord`)
 * and the stores' pure transitions, plus the reconcile plan the executor follows. Everything the world
 * decides goes through a `Rules` value, so a test can inject a variant that breaks one rule on purpose
 * (a mutation) and see the checker catch it.
 */
import { decide, reservedRecord } from '../src/machine/decide.ts';
import { evidenceAfterAttempt, type AttemptAnswer } from '../src/machine/provider-key-evidence.ts';
import {
  RecordState,
  type IdempotencyRecord,
  type KeyEvidence,
  type SettledState,
} from '../src/machine/record.ts';
import { absentVerdict, planReconcile, type ReconcilePolicy } from '../src/machine/reconcile-plan.ts';
import { isLapsed, isUnsettled } from '../src/machine/lapse.ts';
import {
  endedRecord,
  holds,
  mayReclaim,
  reclaimedRecord,
  unknownRecord,
} from '../src/machine/transitions.ts';
import type { OperationPolicy } from '../src/executor/policy.ts';
import type { Lease, ReclaimRequest } from '../src/stores/types.ts';

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
 * The executor's plan before `planReconcile` existed: re-send while the provider keeps the key, else
 * look up, and trust `absent` only after the settle delay.
 */
function planReconcileBefore(
  record: IdempotencyRecord,
  policy: OperationPolicy,
  now: number,
  hasLookup: boolean,
): ReconcilePlan {
  if (policy.resendWithinMs > 0 && now < record.createdAt + policy.resendWithinMs) return { kind: 'resend' };
  return hasLookup ? { kind: 'lookup' } : { kind: 'blocked' };
}

function afterAbsentBefore(record: IdempotencyRecord, policy: OperationPolicy, now: number): AbsentStep {
  return now < record.updatedAt + policy.lookupSettleMs
    ? { kind: 'wait' }
    : { kind: 'claim', claim: { rekey: false, keyEvidence: null } };
}

/**
 * The rules before burned provider keys and attempt deadlines: the executor's reconcile plan of that
 * time, no provider-key evidence, a lease keeper without a deadline. Kept to show what the checker found
 * in them (docs/model-check.md).
 */
export const BEFORE_BURNED_KEYS: Rules = {
  name: 'before burned keys',
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
      : reclaimedRecord(record, { token, leaseMs }, now),
  planReconcile: planReconcileBefore,
  afterAbsent: afterAbsentBefore,
  approvalAllowed: (requestedBy, approvedBy) => requestedBy !== approvedBy,
  // The lease keeper renewed for as long as the call had not returned (no attempt deadline).
  attemptTimeoutMs: () => null,
};

/** True when a record holds the evidence of a write that may have happened. */
export function isOpen(record: IdempotencyRecord): boolean {
  return record.state === RecordState.InFlight || record.state === RecordState.Unknown;
}

const reconcilePolicy = (policy: OperationPolicy, hasLookup: boolean): ReconcilePolicy => ({
  resendWithinMs: policy.resendWithinMs,
  lookupSettleMs: policy.lookupSettleMs,
  canResend: true,
  hasLookup,
});

/** What an unknown ending says about the provider key: a 5xx is an answer, a timeout or our abort none. */
const answerOf = (end: AttemptEnd): AttemptAnswer => (end === '5xx' ? 'answered' : 'none');

/**
 * The rules with burned provider keys and attempt deadlines (SEMANTICS.md, invariants 12 and 13): the
 * machine's `planReconcile` and `absentVerdict`, the provider-key evidence an unknown attempt leaves,
 * reclaims that start a new generation only on a burned key (`mayReclaim`), and the attempt deadline.
 */
export const BURNED_KEY_RULES: Rules = {
  ...BEFORE_BURNED_KEYS,
  name: 'retrysafe',
  settled: (record, state, end, policy, now) => {
    if (state !== RecordState.Unknown) {
      return endedRecord(record, { state, result: resultOf(state), ...lifetime(policy) }, now);
    }
    // As settlementFor: from the evidence the attempt started with (the in-flight record's).
    const keyEvidence = evidenceAfterAttempt(record.keyEvidence, answerOf(end), policy.providerStoresErrors);
    return endedRecord(
      record,
      { state, result: null, ...lifetime(policy), ...(keyEvidence === null ? {} : { keyEvidence }) },
      now,
    );
  },
  resolved: (record, state, policy, now, rekey) =>
    endedRecord(
      record,
      {
        state,
        result: resultOf(state),
        ...lifetime(policy),
        ...(rekey && state === RecordState.Released
          ? { newGeneration: { evidence: { by: 'operator' } } }
          : {}),
      },
      now,
    ),
  reclaim: (record, attempt, claim, token, leaseMs, now) => {
    const request: ReclaimRequest = {
      key: record.key,
      attempt,
      token,
      leaseMs,
      reason: claim.rekey ? 'burned key, trusted absent: new generation' : 'reclaim',
      ...(claim.rekey ? { rekey: { evidence: { lookup: 'absent' } } } : {}),
      ...(claim.keyEvidence === null ? {} : { keyEvidence: claim.keyEvidence as NonNullable<KeyEvidence> }),
    };
    if (!isUnsettled(record, attempt, now) || !mayReclaim(record, request)) return undefined;
    return reclaimedRecord(record, request, now);
  },
  planReconcile: (record, policy, now, hasLookup) => {
    const plan = planReconcile(record, reconcilePolicy(policy, hasLookup), now);
    return { kind: plan.kind };
  },
  afterAbsent: (record, policy, now) => {
    const plan = planReconcile(record, { ...reconcilePolicy(policy, true), canResend: false }, now);
    if (plan.kind !== 'lookup') return { kind: 'wait' };
    const verdict = absentVerdict(record, plan, now);
    if (!verdict.trusted) return { kind: 'wait' };
    return { kind: 'claim', claim: { rekey: verdict.newGeneration, keyEvidence: verdict.keyEvidence } };
  },
  attemptTimeoutMs: (policy) => policy.attemptTimeoutMs,
};

/** The rules retrysafe runs: what the checker explores unless told otherwise. */
export const RETRYSAFE_RULES: Rules = BURNED_KEY_RULES;
