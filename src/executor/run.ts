import { randomUUID } from 'node:crypto';
import { publish } from '../diagnostics.ts';
import {
  InFlightError,
  LeaseLostError,
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
import { ReplicaAcknowledgementError } from '../stores/replica-acknowledgement.ts';
import type { Lease, Settlement, Store } from '../stores/types.ts';
import { LeaseKeeper } from './lease-keeper.ts';
import { decodeFailure, decodeResult, summarizeFailure } from './outcome.ts';
import type { PreparedCall, RunResult } from './prepared.ts';
import { guard } from './guard.ts';
import { replayIdentity } from './identity.ts';
import { noteResend, reconcile } from './reconcile.ts';
import { settlementFor, type CallOutcome } from './settlement.ts';
import { waitForChange } from './wait.ts';

/** A notification can be missed between reading a record and subscribing: never trust one for longer. */
const MAX_NOTIFIED_WAIT_MS = 500;
/** Settling is retried briefly: the write already happened, so its record is worth a little patience. */
const SETTLE_RETRY_DELAYS_MS = [25, 100, 400] as const;

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
    if (begun.reserved) return perform(store, call, begun.lease, begun.record, sentAt);

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
            return await perform(store, call, next.lease, next.record, next.sentAt);
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

/** Performs the call under `lease` and records its classified outcome. */
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
  const keeper = new LeaseKeeper(store, lease, call.policy.leaseMs, sentAt);
  const started = Date.now();
  let outcome: CallOutcome<T>;
  try {
    outcome = {
      ok: true,
      value: await call.behaviour.call(call.input, { ...identity, signal: keeper.signal }),
    };
  } catch (error) {
    outcome = { ok: false, error, classification: classifySafely(call, error) };
  } finally {
    await keeper.stop();
  }

  const settlement = settlementFor(call, outcome);
  const settled = await settleWithRetry(store, keeper.lease, settlement);
  const context = { key: call.key, operation: call.operation, attempt: lease.attempt };
  const cause = outcome.ok ? undefined : outcome.error;
  if (settled instanceof Error) {
    // The outcome happened but could not be recorded; the lease will lapse and the next caller reconciles.
    publish('settleFailed', { ...context, error: settled });
    if (outcome.ok) return { ...identity, value: outcome.value, replayed: false, reconciled: false };
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
    case RecordState.Succeeded:
      return { ...identity, value: (outcome as { value: T }).value, replayed: false, reconciled: false };
    case RecordState.Failed:
      throw new OperationFailedError(decodeFailure(record.result, record.reason), record, false, cause);
    case RecordState.Released:
      throw cause;
    case RecordState.Unknown:
      publish('unknown', { ...context, reason: record.reason });
      throw new OutcomeUnknownError(record, undefined, { cause });
  }
}

function classifySafely<I, T>(
  call: PreparedCall<I, T>,
  error: unknown,
): 'failed' | 'not_performed' | 'unknown' {
  try {
    const verdict = call.behaviour.classify(error);
    return verdict === 'failed' || verdict === 'not_performed' ? verdict : 'unknown';
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
