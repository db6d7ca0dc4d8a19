import { randomUUID } from 'node:crypto';
import { publish } from '../diagnostics.ts';
import { LookupTimeoutError, OutcomeUnknownError } from '../errors/errors.ts';
import type { AfterAbsent } from '../machine/provider-key-evidence.ts';
import { RecordState, type IdempotencyRecord } from '../machine/record.ts';
import {
  absentVerdict,
  planReconcile,
  type ReconcilePlan,
  type ReconcilePolicy,
} from '../machine/reconcile-plan.ts';
import { scopeOfKey } from '../keys/derive.ts';
import type { Lease, ReclaimRequest, Store, UnknownNote } from '../stores/types.ts';
import { storableResult } from './outcome.ts';
import type { LookupAnswer, LookupContext } from './policy.ts';
import type { Behaviour, PreparedCall, RunResult } from './prepared.ts';
import { guard } from './guard.ts';
import { replayIdentity } from './identity.ts';
import { providerRefOf } from './settlement.ts';

/** Where reconciliation left the key. */
export type ReconcileStep<T> =
  | { readonly kind: 'done'; readonly result: RunResult<T> }
  | {
      readonly kind: 'claimed';
      readonly lease: Lease;
      readonly record: IdempotencyRecord;
      readonly sentAt: number;
    }
  /** The record moved on (another caller acted): read it again. */
  | { readonly kind: 'again' };

/** The plan's view of an in-process call: it can always re-send, through `call`. */
export function reconcilePolicy<I, T>(call: PreparedCall<I, T>): ReconcilePolicy {
  return {
    resendWithinMs: call.policy.resendWithinMs,
    lookupSettleMs: call.policy.lookupSettleMs,
    canResend: true,
    hasLookup: call.behaviour.lookup !== undefined,
  };
}

/**
 * An in-flight record whose lease lapsed becomes `unknown` (and `retrysafe:unknown` is published); any
 * other record is returned as it is. Undefined when the record moved on meanwhile.
 */
export async function markLapsed(
  store: Store,
  record: IdempotencyRecord,
): Promise<IdempotencyRecord | undefined> {
  if (record.state !== RecordState.InFlight) return record;
  const marked = await guard(
    () => store.markUnknown(record.key, record.attempt, 'lease lapsed before the outcome was recorded'),
    'mark the lapsed attempt unknown',
  );
  if (!marked.ok) return undefined;
  publish('unknown', {
    key: record.key,
    operation: record.operation,
    attempt: marked.record.attempt,
    reason: marked.record.reason,
  });
  return marked.record;
}

/** What only a live call adds to a lookup: the caller's input and the key fields it derived. */
export interface LiveCall {
  readonly input: unknown;
  readonly keyFields: string;
}

/**
 * The one place a lookup's context is built, so a lookup sees the same identity from a live call and
 * from a stored record: the key fields the record keeps (the live call's when an older record has
 * none), the scope shown in the key, and the input only where there is one.
 */
export function lookupContext(
  providerKey: (key: string, generation: number) => string,
  record: IdempotencyRecord,
  live: LiveCall | undefined,
  signal: AbortSignal,
): LookupContext {
  const keyFields = record.keyFields ?? live?.keyFields;
  return {
    key: record.key,
    providerKey: providerKey(record.key, record.generation),
    attempt: record.attempt,
    record,
    fields: keyFields === undefined ? undefined : (JSON.parse(keyFields) as unknown),
    scope: scopeOfKey(record.key),
    input: live?.input,
    signal,
  };
}

/**
 * Asks the provider (the operation's lookup, which must exist) whether `record`'s attempt happened, and
 * announces the answer on `retrysafe:reconcile`. The lookup gets a signal aborted past `timeoutMs`;
 * a lookup that has not answered by then answers `unknown`. Rejects with whatever the lookup threw.
 */
export async function askProvider<T>(
  behaviour: Behaviour<unknown, T> | Behaviour<never, T>,
  record: IdempotencyRecord,
  payload: unknown,
  timeoutMs: number,
  live?: LiveCall,
): Promise<LookupAnswer<T>> {
  const lookup = behaviour.lookup;
  if (lookup === undefined) throw new TypeError(`operation ${record.operation} has no lookup`);
  const controller = new AbortController();
  const reason = new LookupTimeoutError(record.key, timeoutMs);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<LookupAnswer<T>>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(reason);
      resolve({ status: 'unknown', reason: reason.message });
    }, timeoutMs);
  });
  let answer: LookupAnswer<T>;
  try {
    const asked = lookup(payload, lookupContext(behaviour.providerKey, record, live, controller.signal));
    answer = await Promise.race([asked, timedOut]);
  } catch (error) {
    // A lookup that threw because we aborted it timed out; any other error is the lookup's own.
    if (controller.signal.aborted) answer = { status: 'unknown', reason: reason.message };
    else throw error;
  } finally {
    clearTimeout(timer);
  }
  publish('reconcile', {
    key: record.key,
    operation: record.operation,
    attempt: record.attempt,
    answer: answer.status,
  });
  return answer;
}

/**
 * Keeps a reconciliation answer that did not settle the record: the record's reason becomes `reason`
 * and the audit log gets the answer (`still_unknown`). The outcome is unknown either way, so a store
 * that cannot take the note does not change what the caller is told; the record is returned as noted,
 * or as it was when the note could not be made.
 */
export async function noteStillUnknown(
  store: Store,
  record: IdempotencyRecord,
  action: UnknownNote['action'],
  answer: string,
  reason: string,
): Promise<IdempotencyRecord> {
  try {
    const noted = await store.noteUnknown({
      key: record.key,
      attempt: record.attempt,
      action,
      answer,
      reason,
      actor: 'reconciler',
    });
    return noted.ok ? noted.record : record;
  } catch {
    return record;
  }
}

/** A re-send under the same provider key that ended unknown again: its answer goes to the audit log. */
export async function noteResend(store: Store, record: IdempotencyRecord): Promise<IdempotencyRecord> {
  if (record.state !== RecordState.Unknown) return record;
  const reason = `re-send under the same provider key left the outcome unknown: ${record.reason ?? 'no answer'}`;
  return noteStillUnknown(store, record, 'resend', 'unknown', reason);
}

/** What a "found" answer records: the write happened, with the provider's value and reference. */
export function foundResolution<T>(
  behaviour: Behaviour<never, T>,
  answer: Extract<LookupAnswer<T>, { status: 'found' }>,
  maxResultBytes: number,
): {
  state: typeof RecordState.Succeeded;
  result: string | null;
  providerRef: string | null;
  reason: string;
} {
  const stored = storableResult(answer.value, maxResultBytes);
  return {
    state: RecordState.Succeeded,
    result: stored.result,
    providerRef: answer.providerRef ?? providerRefOf(behaviour, answer.value),
    reason:
      'reconciled: the provider lookup found the write' +
      (stored.reason === null ? '' : `; ${stored.reason}`),
  };
}

/**
 * The evidence a new generation is recorded with (the `rekeyed` audit entry): which answer burned the
 * key, which lookup said absent, and when.
 */
export function rekeyEvidence(
  behaviour: Behaviour<never, unknown>,
  record: IdempotencyRecord,
  plan: Extract<ReconcilePlan, { kind: 'lookup' }>,
  lookupAt: number,
): Record<string, unknown> {
  return {
    answer: record.reason,
    keyEvidence: record.keyEvidence,
    attempt: record.attempt,
    generation: record.generation,
    providerKey: behaviour.providerKey(record.key, record.generation),
    lookup: 'absent',
    lookupAt,
    trustedFrom: plan.trustAbsentFrom,
  };
}

/** How the attempt after a trusted absent is claimed: same provider key (evidence absent) or a new one. */
export function claimAfterAbsent(
  after: AfterAbsent,
  evidence: () => Record<string, unknown>,
): Pick<ReclaimRequest, 'keyEvidence' | 'rekey'> {
  if (after.newGeneration) return { rekey: { evidence: evidence() } };
  return after.keyEvidence === null ? {} : { keyEvidence: after.keyEvidence };
}

/**
 * Establishes what happened to an attempt whose holder vanished (lapsed lease) or whose outcome is
 * unknown, without ever re-executing on a guess (`planReconcile`): re-send under the same provider key
 * while the provider still remembers it and the key has not answered, else ask the provider (lookup;
 * a trusted absent opens a new attempt, under a new provider key only when the old one is burned),
 * else raise `OutcomeUnknownError`.
 */
export async function reconcile<I, T>(
  store: Store,
  call: PreparedCall<I, T>,
  seen: IdempotencyRecord,
  readAt: number,
): Promise<ReconcileStep<T>> {
  const record = await markLapsed(store, seen);
  if (record === undefined) return { kind: 'again' };
  // A mark was written at a later store time than the read: judge the settle delay from there.
  const now = record === seen ? readAt : Math.max(readAt, record.updatedAt);

  const plan = planReconcile(record, reconcilePolicy(call), now);
  switch (plan.kind) {
    case 'wait':
      return { kind: 'again' };
    case 'resend':
      return claim(store, call, record, {
        reason: 're-send under the same provider key within its retention',
      });
    case 'blocked':
      throw new OutcomeUnknownError(record);
    case 'lookup':
      break;
  }

  let answer: LookupAnswer<T>;
  try {
    answer = await askProvider(call.behaviour, record, call.payload, call.policy.lookupTimeoutMs, {
      input: call.input,
      keyFields: call.keyFields,
    });
  } catch (error) {
    const reason = `lookup failed: ${error instanceof Error ? error.message : String(error)}`;
    const noted = await noteStillUnknown(store, record, 'lookup', 'error', reason);
    throw new OutcomeUnknownError(
      noted,
      `lookup for key ${call.key} failed (${reason}); the outcome stays unknown`,
      {
        cause: error,
      },
    );
  }

  switch (answer.status) {
    case 'found': {
      const resolved = await guard(
        () =>
          store.resolve({
            key: call.key,
            attempt: record.attempt,
            ...foundResolution(call.behaviour, answer, call.policy.maxResultBytes),
            actor: 'reconciler',
            ttlMs: call.policy.ttlMs,
            tombstoneMs: call.policy.tombstoneMs,
          }),
        'record the reconciled outcome',
      );
      if (!resolved.ok) return { kind: 'again' };
      return {
        kind: 'done',
        result: {
          ...replayIdentity(call, resolved.record),
          value: answer.value,
          replayed: true,
          reconciled: true,
        },
      };
    }
    case 'absent': {
      // A lagging provider may not show a write yet: trust "absent" only after its settle delay.
      const verdict = absentVerdict(record, plan, now);
      if (!verdict.trusted) {
        const reason =
          'lookup found no write, but the provider may lag until ' +
          `${new Date(verdict.trustFrom).toISOString()}; try again after that`;
        const noted = await noteStillUnknown(store, record, 'lookup', 'absent', reason);
        throw new OutcomeUnknownError(noted, `${reason} (key ${call.key})`);
      }
      return claim(store, call, record, {
        reason: verdict.newGeneration
          ? 'reconciled: the provider lookup found no write and the provider key is burned: new generation'
          : 'reconciled: the provider lookup found no write',
        ...claimAfterAbsent(verdict, () => rekeyEvidence(call.behaviour as never, record, plan, now)),
      });
    }
    case 'unknown': {
      const reason =
        'lookup could not tell whether the write happened' +
        (answer.reason === undefined ? '' : ` (${answer.reason})`);
      const noted = await noteStillUnknown(store, record, 'lookup', 'unknown', reason);
      throw new OutcomeUnknownError(noted, `${reason} (key ${call.key})`);
    }
  }
}

/**
 * Claims the next attempt of an unknown (or lapsed) `record` for this call (a fenced reclaim), for the
 * reconciliation's re-send or after a trusted absent, and for the in-call re-send (run.ts).
 */
export async function claim<I, T>(
  store: Store,
  call: PreparedCall<I, T>,
  record: IdempotencyRecord,
  request: Pick<ReclaimRequest, 'reason' | 'keyEvidence' | 'rekey'>,
): Promise<ReconcileStep<T>> {
  const sentAt = Date.now();
  const claimed = await guard(
    () =>
      store.reclaim({
        key: call.key,
        attempt: record.attempt,
        token: randomUUID(),
        leaseMs: call.policy.leaseMs,
        ...request,
      }),
    'claim a new attempt',
  );
  if (!claimed.ok) return { kind: 'again' };
  if (request.rekey !== undefined) {
    publish('rekey', {
      key: call.key,
      operation: call.operation,
      attempt: claimed.record.attempt,
      fromGeneration: record.generation,
      toGeneration: claimed.record.generation,
    });
  }
  return { kind: 'claimed', lease: claimed.lease, record: claimed.record, sentAt };
}
