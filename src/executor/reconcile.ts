import { randomUUID } from 'node:crypto';
import { publish } from '../diagnostics.ts';
import { OutcomeUnknownError } from '../errors/errors.ts';
import { RecordState, type IdempotencyRecord } from '../machine/record.ts';
import { scopeOfKey } from '../keys/derive.ts';
import type { Lease, Store, UnknownNote } from '../stores/types.ts';
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
  };
}

/**
 * Asks the provider (the operation's lookup, which must exist) whether `record`'s attempt happened, and
 * announces the answer on `retrysafe:reconcile`. Rejects with whatever the lookup threw.
 */
export async function askProvider<T>(
  behaviour: Behaviour<unknown, T> | Behaviour<never, T>,
  record: IdempotencyRecord,
  payload: unknown,
  live?: LiveCall,
): Promise<LookupAnswer<T>> {
  const lookup = behaviour.lookup;
  if (lookup === undefined) throw new TypeError(`operation ${record.operation} has no lookup`);
  const answer = await lookup(payload, lookupContext(behaviour.providerKey, record, live));
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
 * Establishes what happened to an attempt whose holder vanished (lapsed lease) or whose outcome is
 * unknown, without ever re-executing on a guess: re-send under the same provider key while the
 * provider still remembers it, else ask the provider (lookup), else raise `OutcomeUnknownError`.
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

  const { resendWithinMs, lookupSettleMs } = call.policy;
  if (resendWithinMs > 0 && now < record.createdAt + resendWithinMs) {
    return claim(store, call, record, 're-send under the same provider key within its retention');
  }

  if (call.behaviour.lookup === undefined) throw new OutcomeUnknownError(record);
  let answer: LookupAnswer<T>;
  try {
    answer = await askProvider(call.behaviour, record, call.payload, {
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
    case 'absent':
      // A lagging provider may not show a write yet: trust "absent" only after its settle delay.
      if (now < record.updatedAt + lookupSettleMs) {
        const reason =
          'lookup found no write, but the provider may lag until ' +
          `${new Date(record.updatedAt + lookupSettleMs).toISOString()}; try again after that`;
        const noted = await noteStillUnknown(store, record, 'lookup', 'absent', reason);
        throw new OutcomeUnknownError(noted, `${reason} (key ${call.key})`);
      }
      return claim(store, call, record, 'reconciled: the provider lookup found no write');
    case 'unknown': {
      const reason =
        'lookup could not tell whether the write happened' +
        (answer.reason === undefined ? '' : ` (${answer.reason})`);
      const noted = await noteStillUnknown(store, record, 'lookup', 'unknown', reason);
      throw new OutcomeUnknownError(noted, `${reason} (key ${call.key})`);
    }
  }
}

async function claim<I, T>(
  store: Store,
  call: PreparedCall<I, T>,
  record: IdempotencyRecord,
  reason: string,
): Promise<ReconcileStep<T>> {
  const sentAt = Date.now();
  const claimed = await guard(
    () =>
      store.reclaim({
        key: call.key,
        attempt: record.attempt,
        token: randomUUID(),
        leaseMs: call.policy.leaseMs,
        reason,
      }),
    'claim a new attempt',
  );
  if (!('lease' in claimed)) return { kind: 'again' };
  return { kind: 'claimed', lease: claimed.lease, record: claimed.record, sentAt };
}
