import { isLeaseLive } from './lapse.ts';
import { afterTrustedAbsent, resendCannotHelp, type AfterAbsent } from './provider-key-evidence.ts';
import type { IdempotencyRecord } from './record.ts';

/** What reconciliation may do for an operation, as far as the plan is concerned. */
export interface ReconcilePolicy {
  /** The provider honours the key this long after the generation was first reserved (0: never re-send). */
  readonly resendWithinMs: number;
  /** A lookup's `absent` is trusted only this long after the record last changed. */
  readonly lookupSettleMs: number;
  /** The caller can send the request again (in a call: always; in a batch: a `resend` and a stored request). */
  readonly canResend: boolean;
  /** The operation declares a lookup. */
  readonly hasLookup: boolean;
}

/** The next step for an `unknown` (or lapsed `in_flight`) record. */
export type ReconcilePlan =
  /** Another attempt still holds a live lease: nothing to reconcile yet. */
  | { readonly kind: 'wait'; readonly leaseUntil: number }
  /** Re-send the same request under the same provider key: the provider still remembers it. */
  | { readonly kind: 'resend'; readonly until: number }
  /** Ask the provider; an `absent` answer is trusted from `trustAbsentFrom` on. */
  | { readonly kind: 'lookup'; readonly trustAbsentFrom: number }
  /** Nothing can establish the outcome: the record stays `unknown` for a person. */
  | { readonly kind: 'blocked'; readonly reason: string };

/**
 * The one reconciliation plan, for in-call reconciliation (`src/executor/reconcile.ts`) and batch
 * reconciliation (`src/executor/batch-reconcile.ts`) alike. Re-send under the same provider key only
 * within the provider's retention, while the key is not known to replay a non-definitive answer (no
 * answer since the generation began, or only since a trusted absent); else look up; else blocked.
 *
 * @example
 * ```ts
 * planReconcile(record, { resendWithinMs: DAY, lookupSettleMs: HOUR, canResend: true, hasLookup: true }, now)
 * // { kind: 'resend', until: record.createdAt + DAY } while the key has had no answer
 * ```
 */
export function planReconcile(
  record: IdempotencyRecord,
  policy: ReconcilePolicy,
  now: number,
): ReconcilePlan {
  if (isLeaseLive(record, now)) return { kind: 'wait', leaseUntil: record.leaseUntil };
  const until = record.createdAt + policy.resendWithinMs;
  if (policy.canResend && policy.resendWithinMs > 0 && now < until && !resendCannotHelp(record)) {
    return { kind: 'resend', until };
  }
  if (policy.hasLookup) return { kind: 'lookup', trustAbsentFrom: record.updatedAt + policy.lookupSettleMs };
  if (resendCannotHelp(record)) {
    return {
      kind: 'blocked',
      reason:
        `the provider key answered non-definitively (${record.keyEvidence ?? 'none'}) and no lookup is ` +
        'declared: resolve it by hand',
    };
  }
  return { kind: 'blocked', reason: 'no lookup declared and no re-send possible: resolve it by hand' };
}

/** What a lookup's `absent` allows at `now`. */
export type AbsentVerdict =
  /** Too early: a lagging provider may not show the write yet. */
  { readonly trusted: false; readonly trustFrom: number } | ({ readonly trusted: true } & AfterAbsent);

/**
 * An `absent` answer is trusted only past the settle delay (judged from the record's last change, on
 * the clock `now` comes from); then a burned key gets a new generation and any other key one more
 * attempt under the same provider key.
 */
export function absentVerdict(
  record: IdempotencyRecord,
  plan: Extract<ReconcilePlan, { kind: 'lookup' }>,
  now: number,
): AbsentVerdict {
  if (now < plan.trustAbsentFrom) return { trusted: false, trustFrom: plan.trustAbsentFrom };
  return { trusted: true, ...afterTrustedAbsent(record.keyEvidence) };
}
