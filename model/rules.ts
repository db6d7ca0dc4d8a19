/**
 * The lifecycle rules the world drives, in one place: the real pure machine (`decide`, `reservedRecord`)
 * and the stores' pure transitions, plus the reconcile plan the executor follows. Everything the world
 * decides goes through a `Rules` value, so a test can inject a variant that breaks one rule on purpose
 * (a mutation) and see the checker catch it.
 */
import { decide, reservedRecord } from '../src/machine/decide.ts';
import { RecordState, type IdempotencyRecord } from '../src/machine/record.ts';
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
  /** Claim a new attempt and re-send under the same provider key (the provider still remembers it). */
  | { readonly kind: 'resend' }
  /** Ask the provider's lookup first. */
  | { readonly kind: 'lookup' }
  /** Nothing can establish the outcome: `OutcomeUnknown`, for a person. */
  | { readonly kind: 'blocked' };

/** What a trusted-or-not `absent` answer allows. */
export type AbsentStep = { readonly kind: 'claim' } | { readonly kind: 'wait' };

export interface Rules {
  readonly name: string;
  readonly decide: typeof decide;
  readonly reservedRecord: typeof reservedRecord;
  /** The fence on every holder's write. */
  readonly holds: (record: IdempotencyRecord | undefined, lease: Lease) => boolean;
  readonly isLapsed: typeof isLapsed;
  readonly isUnsettled: typeof isUnsettled;
  readonly endedRecord: typeof endedRecord;
  readonly unknownRecord: typeof unknownRecord;
  readonly reclaimedRecord: typeof reclaimedRecord;
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
  return now < record.updatedAt + policy.lookupSettleMs ? { kind: 'wait' } : { kind: 'claim' };
}

/** The rules retrysafe runs today. */
export const CURRENT_RULES: Rules = {
  name: 'current',
  decide,
  reservedRecord,
  holds,
  isLapsed,
  isUnsettled,
  endedRecord,
  unknownRecord,
  reclaimedRecord,
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
