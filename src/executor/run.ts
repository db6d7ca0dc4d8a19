import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { publish } from '../diagnostics.ts';
import {
  InFlightError,
  OperationFailedError,
  OutcomeUnknownError,
  PayloadMismatchError,
  RetrySafeError,
  StoreUnavailableError,
  TombstoneReplayError,
  WaitTimeoutError,
} from '../errors/errors.ts';
import { decide } from '../machine/decide.ts';
import { RecordState, type IdempotencyRecord } from '../machine/record.ts';
import { planReconcile } from '../machine/reconcile-plan.ts';
import type { Lease, Store } from '../stores/types.ts';
import { decodeFailure, decodeResult } from './outcome.ts';
import { perform } from './perform.ts';
import type { PreparedCall, RunResult } from './prepared.ts';
import { guard } from './guard.ts';
import { replayIdentity } from './identity.ts';
import { claim, noteResend, reconcile, reconcilePolicy } from './reconcile.ts';
import { waitForChange } from './wait.ts';

/** A notification can be missed between reading a record and subscribing: never trust one for longer. */
const MAX_NOTIFIED_WAIT_MS = 500;

/**
 * Runs one prepared call through the conflict table: reserve, wait, replay, reconcile or refuse, and
 * perform the call only while holding a reservation.
 */
export async function run<I, T>(store: Store, call: PreparedCall<I, T>): Promise<RunResult<T>> {
  const startedAt = Date.now();
  const incoming = { fingerprint: call.fingerprint, retryFailed: call.policy.retryFailed };
  let disagreements = 0;
  for (let round = 0; ; round++) {
    const sentAt = Date.now();
    const begun = await guard(
      () =>
        store.begin({
          key: call.key,
          operation: call.operation,
          fingerprint: call.fingerprint,
          retryFailed: call.policy.retryFailed,
          token: randomUUID(),
          leaseMs: call.policy.leaseMs,
          request: call.request,
          // An operation that keeps no request (storeRequest: false) keeps no key fields either.
          keyFields: call.request === null ? null : call.keyFields,
        }),
      'reserve the key',
    );
    if (begun.reserved) return performAndResend(store, call, begun.lease, begun.record, sentAt);

    const { record, now } = begun;
    const decision = decide(record, incoming, now);
    switch (decision.kind) {
      case 'reserve':
        // The store saw a different record than the one it returned; a correct store converges at once.
        if (++disagreements > 3) throw storeDisagrees(store, record);
        continue;
      case 'replay':
        return replay(call, record);
      case 'tombstone':
        return replayTombstone(call, record);
      case 'mismatch':
        publish('mismatch', {
          key: call.key,
          operation: call.operation,
          fingerprint: call.fingerprint,
          stored: record.fingerprint,
        });
        throw new PayloadMismatchError(call.fingerprint, record);
      case 'wait': {
        if (call.policy.waitMs === 0) throw new InFlightError(record);
        const remaining = startedAt + call.policy.waitMs - Date.now();
        if (remaining <= 0) throw new WaitTimeoutError(record, Date.now() - startedAt);
        publish('wait', {
          key: call.key,
          operation: call.operation,
          attempt: record.attempt,
          leaseUntil: decision.leaseUntil,
        });
        // Wake no later than the lease could lapse, so a vanished holder is noticed promptly.
        let timeout = Math.min(remaining, decision.leaseUntil - now + 1);
        if (store.capabilities.notifications) timeout = Math.min(timeout, MAX_NOTIFIED_WAIT_MS);
        await guard(() => waitForChange(store, call.key, timeout, round), 'wait for the key');
        continue;
      }
      case 'reconcile': {
        const next = await reconcile(store, call, record, now);
        if (next.kind === 'done') return next.result;
        if (next.kind === 'claimed') {
          try {
            return await performAndResend(store, call, next.lease, next.record, next.sentAt);
          } catch (error) {
            // The re-send or new attempt reconciliation opened left the outcome unknown: keep its answer.
            const unknown = error instanceof OutcomeUnknownError ? error.fullRecord() : undefined;
            if (unknown !== undefined) await noteResend(store, unknown);
            throw error;
          }
        }
        continue;
      }
    }
  }
}

/**
 * Performs the call, and when its outcome is unknown, re-sends under the same provider key inside this
 * call (issue 13's "inside the call"), a bounded number of times with backoff, while the plan says a
 * re-send is safe and useful (within the provider's retention, key not known to replay an answer).
 * Then `OutcomeUnknownError` reaches the caller. Each re-send is a new fenced attempt.
 */
async function performAndResend<I, T>(
  store: Store,
  call: PreparedCall<I, T>,
  lease: Lease,
  reserved: IdempotencyRecord,
  sentAt: number,
): Promise<RunResult<T>> {
  const policy = reconcilePolicy(call);
  for (let resend = 0; ; resend++) {
    try {
      return await perform(store, call, lease, reserved, sentAt);
    } catch (error) {
      if (!(error instanceof OutcomeUnknownError) || resend >= call.policy.resendAttempts) throw error;
      const record = error.fullRecord();
      // Only an outcome that was recorded unknown by this attempt is re-sent from here.
      if (record?.state !== RecordState.Unknown || record.attempt !== lease.attempt) throw error;
      if (planReconcile(record, policy, record.updatedAt).kind !== 'resend') throw error;
      await sleep(call.policy.resendBackoffMs * 2 ** resend);
      const claimed = await claim(store, call, record, {
        reason: 're-send under the same provider key within its retention, in the same call',
      });
      // Someone else acted on the key meanwhile: read it again from the top.
      if (claimed.kind !== 'claimed') return run(store, call);
      ({ lease, record: reserved, sentAt } = claimed);
    }
  }
}

function replay<I, T>(call: PreparedCall<I, T>, record: IdempotencyRecord): RunResult<T> {
  publish('replay', {
    key: call.key,
    operation: call.operation,
    state: record.state,
    attempt: record.attempt,
  });
  if (record.state === RecordState.Failed) {
    throw new OperationFailedError(decodeFailure(record.result, record.reason), record, true);
  }
  if (record.result === null) return replayTombstone(call, record);
  return {
    ...replayIdentity(call, record),
    value: decodeResult(record.result) as T,
    replayed: true,
    reconciled: false,
  };
}

function replayTombstone<I, T>(call: PreparedCall<I, T>, record: IdempotencyRecord): RunResult<T> {
  publish('replay', {
    key: call.key,
    operation: call.operation,
    state: record.state,
    attempt: record.attempt,
    tombstone: true,
  });
  if (record.state === RecordState.Failed) {
    throw new OperationFailedError(decodeFailure(record.result, record.reason), record, true);
  }
  const onTombstone = call.behaviour.onTombstone;
  if (onTombstone === undefined) throw new TombstoneReplayError(record);
  const value = onTombstone({ state: RecordState.Succeeded, providerRef: record.providerRef, record });
  return { ...replayIdentity(call, record), value, replayed: true, reconciled: false };
}

function storeDisagrees(store: Store, record: IdempotencyRecord): RetrySafeError {
  return new StoreUnavailableError(
    `store ${store.name} refused to reserve ${record.key} although the conflict table allows it; ` +
      'it does not keep the store contract',
    undefined,
  );
}
