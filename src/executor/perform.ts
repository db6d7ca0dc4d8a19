import { setTimeout as sleep } from 'node:timers/promises';
import { publish } from '../diagnostics.ts';
import {
  LeaseLostError,
  OperationFailedError,
  OutcomeUnknownError,
  StoreUnavailableError,
} from '../errors/errors.ts';
import { RecordState, type IdempotencyRecord } from '../machine/record.ts';
import { ReplicaAcknowledgementError } from '../stores/replica-acknowledgement.ts';
import type { Lease, Settlement, Store } from '../stores/types.ts';
import { LeaseKeeper } from './lease-keeper.ts';
import { answerOf, decodeFailure, summarizeFailure } from './outcome.ts';
import type { Classification } from './policy.ts';
import type { PreparedCall, RunResult } from './prepared.ts';
import { settlementFor, type CallOutcome } from './settlement.ts';

/** Settling is retried briefly: the write already happened, so its record is worth a little patience. */
const SETTLE_RETRY_DELAYS_MS = [25, 100, 400] as const;
/**
 * After the deadline aborts the signal, a call that honours it ends at once; this long is waited for it,
 * so its own ending (not a late write) is what gets recorded.
 */
const DEADLINE_GRACE_MS = 100;

type Ended<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/**
 * Performs the call under `lease` and records its classified outcome. The attempt ends at its deadline
 * (`attemptTimeoutMs`) whatever the call does: past it the outcome is recorded `unknown` (no answer),
 * and a result the call still produces later is offered to the store, refused, and kept as a late write.
 */
export async function perform<I, T>(
  store: Store,
  call: PreparedCall<I, T>,
  lease: Lease,
  reserved: IdempotencyRecord,
  sentAt: number,
): Promise<RunResult<T>> {
  const identity = {
    key: call.key,
    providerKey: call.behaviour.providerKey(call.key, lease.generation),
    attempt: lease.attempt,
    generation: lease.generation,
  };
  publish('reserve', {
    key: call.key,
    operation: call.operation,
    attempt: lease.attempt,
    generation: lease.generation,
  });
  const keeper = new LeaseKeeper(store, lease, call.policy.leaseMs, sentAt, call.policy.attemptTimeoutMs);
  const started = Date.now();
  const ended: Promise<Ended<T>> = (async () =>
    call.behaviour.call(call.input, { ...identity, signal: keeper.signal }))().then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
  const expired = keeper.expired.then(() => undefined);
  let raw = await Promise.race([ended, expired]);
  if (raw === undefined) raw = await Promise.race([ended, sleep(DEADLINE_GRACE_MS).then(() => undefined)]);
  await keeper.stop();

  const timedOut = keeper.timedOut;
  if (timedOut !== undefined) {
    publish('timeout', {
      key: call.key,
      operation: call.operation,
      attempt: lease.attempt,
      timeoutMs: timedOut.timeoutMs,
    });
  }
  let outcome: CallOutcome<T>;
  if (raw === undefined) {
    // The call ignores its signal: the attempt ends here; whatever it still produces is evidence only.
    outcome = { ok: false, error: timedOut, classification: 'unknown_no_answer', answer: 'none' };
    keepLateResult(store, call, keeper.lease, reserved, ended, timedOut);
  } else if (raw.ok) {
    outcome = raw;
  } else if (timedOut !== undefined || keeper.lost !== undefined) {
    // Ended by our deadline or by our giving the lease up: whatever it threw (our own abort reason, whose
    // cause may be the store's ECONNREFUSED), no answer came back in time; never the user's classifier.
    outcome = { ok: false, error: raw.error, classification: 'unknown_no_answer', answer: 'none' };
  } else {
    const classification = classifySafely(call, raw.error);
    outcome = { ok: false, error: raw.error, classification, answer: answerOf(classification, raw.error) };
  }

  const settlement = settlementFor(call, outcome, reserved.keyEvidence);
  const settled = await settleWithRetry(store, keeper.lease, settlement);
  const context = { key: call.key, operation: call.operation, attempt: lease.attempt };
  const cause = outcome.ok ? undefined : outcome.error;
  if (settled instanceof Error) {
    // The outcome happened but could not be recorded; the lease will lapse and the next caller reconciles.
    publish('settleFailed', { ...context, error: settled });
    if (outcome.ok)
      return {
        ...identity,
        value: outcome.value,
        replayed: replayedOf(call, outcome.value),
        reconciled: false,
      };
    if (outcome.classification === 'not_performed') throw outcome.error;
    if (outcome.classification === 'failed') {
      throw new OperationFailedError(summarizeFailure(outcome.error), reserved, false, outcome.error);
    }
    throw new OutcomeUnknownError(
      reserved,
      `outcome of key ${call.key} is unknown and could not be recorded`,
      {
        cause: settled,
      },
    );
  }
  if (!settled.ok) {
    publish('leaseLost', context);
    throw new LeaseLostError(call.key, lease.attempt, settled.record, { cause });
  }
  publish('settle', { ...context, state: settlement.state, durationMs: Date.now() - started });
  const record = settled.record;
  switch (settlement.state) {
    case RecordState.Succeeded: {
      const value = (outcome as { value: T }).value;
      return { ...identity, value, replayed: replayedOf(call, value), reconciled: false };
    }
    case RecordState.Failed:
      throw new OperationFailedError(decodeFailure(record.result, record.reason), record, false, cause);
    case RecordState.Released:
      throw cause;
    case RecordState.Unknown:
      publish('unknown', { ...context, reason: record.reason });
      throw new OutcomeUnknownError(record, undefined, { cause });
  }
}

/** Whether the provider said this answer replays an earlier request (`Idempotent-Replayed: true`). */
function replayedOf<I, T>(call: PreparedCall<I, T>, value: T): boolean {
  try {
    return call.behaviour.replayed?.(value) === true;
  } catch {
    return false;
  }
}

/**
 * A call that outlived its deadline may still end: its result is offered to the store under the old
 * lease, which the store refuses and keeps as a `late_write` (it may be the only proof of a write).
 */
function keepLateResult<I, T>(
  store: Store,
  call: PreparedCall<I, T>,
  lease: Lease,
  reserved: IdempotencyRecord,
  ended: Promise<Ended<T>>,
  reason: unknown,
): void {
  void ended.then(async (late) => {
    // Our own abort reason carries nothing the record does not already say.
    if (!late.ok && late.error === reason) return;
    const outcome: CallOutcome<T> = late.ok
      ? late
      : {
          ok: false,
          error: late.error,
          classification: classifySafely(call, late.error),
          answer: 'none',
        };
    try {
      const settled = await store.settle(lease, settlementFor(call, outcome, reserved.keyEvidence));
      publish('lateResult', {
        key: call.key,
        operation: call.operation,
        attempt: lease.attempt,
        kept: !settled.ok,
      });
    } catch (error) {
      publish('settleFailed', { key: call.key, operation: call.operation, attempt: lease.attempt, error });
    }
  });
}

export function classifySafely<I, T>(call: PreparedCall<I, T>, error: unknown): Classification {
  try {
    const verdict = call.behaviour.classify(error);
    switch (verdict) {
      case 'failed':
      case 'not_performed':
      case 'unknown_answered':
      case 'unknown_no_answer':
      case 'burned':
        return verdict;
      default:
        return 'unknown';
    }
  } catch {
    // A classifier that throws cannot prove anything: the safe reading is unknown.
    return 'unknown';
  }
}

async function settleWithRetry(
  store: Store,
  lease: Lease,
  settlement: Settlement,
): Promise<Awaited<ReturnType<Store['settle']>> | Error> {
  let lastError: unknown;
  for (let i = 0; i <= SETTLE_RETRY_DELAYS_MS.length; i++) {
    try {
      return await store.settle(lease, settlement);
    } catch (error) {
      lastError = error;
      // Applied on the primary already: settling again would be refused as a stale write.
      if (error instanceof ReplicaAcknowledgementError) break;
      const delay = SETTLE_RETRY_DELAYS_MS[i];
      if (delay !== undefined) await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
  return new StoreUnavailableError(`could not record the outcome of ${lease.key}`, lastError);
}
