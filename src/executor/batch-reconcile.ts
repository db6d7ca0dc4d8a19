import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import {
  LeaseLostError,
  OperationFailedError,
  OutcomeUnknownError,
  RetrySafeError,
} from '../errors/errors.ts';
import { publish } from '../diagnostics.ts';
import { fingerprintOfCanonical } from '../keys/fingerprint.ts';
import { RecordState, type IdempotencyRecord } from '../machine/record.ts';
import { absentVerdict, planReconcile } from '../machine/reconcile-plan.ts';
import type { Store } from '../stores/types.ts';
import { guard } from './guard.ts';
import { perform } from './perform.ts';
import type { OperationPolicy } from './policy.ts';
import type { Behaviour, PreparedCall } from './prepared.ts';
import {
  askProvider,
  claimAfterAbsent,
  foundResolution,
  markLapsed,
  noteResend,
  noteStillUnknown,
  rekeyEvidence,
} from './reconcile.ts';

/**
 * What batch reconciliation would do with one record. `refuse`: the stored request does not match the
 * record's fingerprint (it was changed in the store), so it is neither re-sent nor looked up.
 */
export type ReconcileAction = 'lookup' | 'resend' | 'wait' | 'manual' | 'refuse';
/** What it did. */
export type ReconcileOutcome =
  'succeeded' | 'failed' | 'released' | 'unknown' | 'skipped' | 'moved' | 'refused';

export interface ReconcileEntry {
  readonly key: string;
  readonly operation: string;
  readonly state: IdempotencyRecord['state'];
  readonly attempt: number;
  readonly updatedAt: number;
  readonly action: ReconcileAction;
  readonly reason: string;
  /** Set by `apply`. */
  readonly outcome?: ReconcileOutcome;
}

export interface ReconcileOptions {
  /** Only records of this operation (`name@version`). */
  readonly operation?: string;
  /** Only these keys (otherwise every unknown or in-flight record, oldest first). */
  readonly keys?: readonly string[];
  /** At most this many records. @default 1000 */
  readonly limit?: number;
  /** Act on the plan; without it nothing is changed. @default false */
  readonly apply?: boolean;
  /** Told after each record when applying. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** A declared operation, as batch reconciliation needs it. */
export interface Declared {
  readonly behaviour: Behaviour<unknown, unknown>;
  readonly policy: OperationPolicy;
}

/**
 * Plans (read only) or applies reconciliation over many records at once, without the callers' inputs:
 * lookups and re-sends work from the request stored on each record. Applying touches only records still
 * unknown (or lapsed) at the planned attempt: every write is conditioned on it. Stored times are judged
 * on `clock` (the client's): whether a lease lapsed, a key is within retention, an absent is trusted.
 */
export async function reconcileBatch(
  store: Store,
  declared: ReadonlyMap<string, Declared>,
  options: ReconcileOptions,
  clock: Clock,
): Promise<ReconcileEntry[]> {
  const records = await candidates(store, options);
  const now = clock.now();
  const plan = records.map((record) => planOne(record, declared.get(record.operation), now));
  if (options.apply !== true) return plan;
  const applied: ReconcileEntry[] = [];
  for (const entry of plan) {
    const record = records[applied.length];
    const operation = declared.get(entry.operation);
    const outcome =
      entry.action === 'refuse'
        ? 'refused'
        : record === undefined ||
            operation === undefined ||
            entry.action === 'wait' ||
            entry.action === 'manual'
          ? 'skipped'
          : await applyOne(store, record, operation, entry.action, clock);
    applied.push({ ...entry, outcome });
    options.onProgress?.(applied.length, plan.length);
  }
  return applied;
}

async function candidates(store: Store, options: ReconcileOptions): Promise<IdempotencyRecord[]> {
  const limit = options.limit ?? 1000;
  const open = new Set<string>([RecordState.Unknown, RecordState.InFlight]);
  let records: IdempotencyRecord[];
  if (options.keys === undefined) {
    records = await guard(
      () =>
        store.list({
          states: [RecordState.Unknown, RecordState.InFlight],
          ...(options.operation === undefined ? {} : { operation: options.operation }),
          limit,
        }),
      'list records to reconcile',
    );
  } else {
    const found = await Promise.all(options.keys.map((key) => guard(() => store.get(key), 'read a record')));
    records = found.filter((record) => record !== undefined);
  }
  return records
    .filter((record) => open.has(record.state))
    .filter((record) => options.operation === undefined || record.operation === options.operation)
    .slice(0, limit);
}

function planOne(record: IdempotencyRecord, operation: Declared | undefined, now: number): ReconcileEntry {
  const base = {
    key: record.key,
    operation: record.operation,
    state: record.state,
    attempt: record.attempt,
    updatedAt: record.updatedAt,
  };
  const plan = (action: ReconcileAction, reason: string): ReconcileEntry => ({ ...base, action, reason });
  if (operation === undefined) {
    const live = planReconcile(record, NOTHING_DECLARED, now);
    if (live.kind === 'wait')
      return plan('wait', `attempt ${record.attempt} holds a live lease until ${iso(live.leaseUntil)}`);
    return plan('manual', `operation ${record.operation} is not declared here`);
  }
  if (record.request !== null && !requestMatches(record)) {
    publish('refused', {
      key: record.key,
      operation: record.operation,
      attempt: record.attempt,
      fingerprint: record.fingerprint,
    });
    return plan(
      'refuse',
      "the stored request does not match the record's fingerprint (it was changed in the store): " +
        'nothing is sent; check the record and resolve it by hand',
    );
  }
  const next = planReconcile(record, batchPolicy(record, operation), now);
  switch (next.kind) {
    case 'wait':
      return plan('wait', `attempt ${record.attempt} holds a live lease until ${iso(next.leaseUntil)}`);
    case 'resend':
      return plan('resend', `the provider remembers its key until ${iso(next.until)}`);
    case 'lookup':
      return plan(
        'lookup',
        `ask the provider (an absent answer is trusted from ${iso(next.trustAbsentFrom)})`,
      );
    case 'blocked':
      return plan(
        'manual',
        record.request === null ? 'no stored request (storeRequest: false)' : next.reason,
      );
  }
}

/** The plan's view of a declared operation working from a stored record. */
function batchPolicy(record: IdempotencyRecord, { behaviour, policy }: Declared) {
  const stored = record.request !== null;
  return {
    resendWithinMs: policy.resendWithinMs,
    lookupSettleMs: policy.lookupSettleMs,
    canResend: stored && behaviour.resend !== undefined,
    hasLookup: stored && behaviour.lookup !== undefined,
  };
}

const NOTHING_DECLARED = { resendWithinMs: 0, lookupSettleMs: 0, canResend: false, hasLookup: false };

async function applyOne(
  store: Store,
  seen: IdempotencyRecord,
  operation: Declared,
  action: 'lookup' | 'resend',
  clock: Clock,
): Promise<ReconcileOutcome> {
  const record = await markLapsed(store, seen);
  if (record === undefined) return 'moved';
  // Read again after marking: what is sent must be what was fingerprinted when the key was reserved.
  if (!requestMatches(record)) return 'refused';
  const payload: unknown = JSON.parse(record.request ?? 'null');
  return action === 'resend'
    ? resend(store, record, operation, payload)
    : lookup(store, record, operation, payload, clock);
}

async function lookup(
  store: Store,
  record: IdempotencyRecord,
  operation: Declared,
  payload: unknown,
  clock: Clock,
): Promise<ReconcileOutcome> {
  const { behaviour, policy } = operation;
  const plan = planReconcile(record, batchPolicy(record, operation), clock.now());
  if (plan.kind !== 'lookup') return 'skipped';
  let answer;
  try {
    answer = await askProvider(behaviour, record, payload, policy.lookupTimeoutMs);
  } catch (error) {
    const reason = `lookup failed: ${error instanceof Error ? error.message : String(error)}`;
    await noteStillUnknown(store, record, 'lookup', 'error', reason);
    return 'unknown';
  }
  if (answer.status === 'unknown') {
    const reason =
      'lookup could not tell whether the write happened' +
      (answer.reason === undefined ? '' : ` (${answer.reason})`);
    await noteStillUnknown(store, record, 'lookup', 'unknown', reason);
    return 'unknown';
  }
  const lookupAt = clock.now();
  let resolution;
  if (answer.status === 'found') {
    resolution = foundResolution(behaviour, answer, policy.maxResultBytes);
  } else {
    // A lagging provider may not show a write yet. The batch has no store clock for an unknown record:
    // the settle delay is judged on the client's clock, from the store's time of the last change.
    const verdict = absentVerdict(record, plan, lookupAt);
    if (!verdict.trusted) {
      const until = new Date(verdict.trustFrom).toISOString();
      await noteStillUnknown(
        store,
        record,
        'lookup',
        'absent',
        `lookup found no write, but the provider may lag until ${until}`,
      );
      return 'unknown';
    }
    const claim = claimAfterAbsent(verdict, () => rekeyEvidence(behaviour, record, plan, lookupAt));
    resolution = {
      // "absent" opens a new attempt: released, so the next run performs it (under a new provider key
      // when the old one is burned).
      state: RecordState.Released,
      reason: verdict.newGeneration
        ? 'reconciled: the provider lookup found no write and the provider key is burned; the next run ' +
          'performs it under a new provider key'
        : 'reconciled: the provider lookup found no write; the next run performs it',
      ...(claim.keyEvidence === undefined ? {} : { keyEvidence: claim.keyEvidence }),
      ...(claim.rekey === undefined ? {} : { newGeneration: claim.rekey }),
    };
  }
  const resolved = await guard(
    () =>
      store.resolve({
        key: record.key,
        attempt: record.attempt,
        ...resolution,
        actor: 'reconciler',
        ttlMs: policy.ttlMs,
        tombstoneMs: policy.tombstoneMs,
      }),
    'record the reconciled outcome',
  );
  if (!resolved.ok) return 'moved';
  return resolution.state === RecordState.Succeeded ? 'succeeded' : 'released';
}

async function resend(
  store: Store,
  record: IdempotencyRecord,
  { behaviour, policy }: Declared,
  payload: unknown,
): Promise<ReconcileOutcome> {
  const send = behaviour.resend;
  if (send === undefined) return 'skipped';
  const sentAt = Date.now();
  const claimed = await guard(
    () =>
      store.reclaim({
        key: record.key,
        attempt: record.attempt,
        token: randomUUID(),
        leaseMs: policy.leaseMs,
        reason: 're-send the stored request under the same provider key within its retention',
      }),
    'claim a new attempt',
  );
  if (!claimed.ok) return 'moved';
  const call: PreparedCall<unknown, unknown> = {
    operation: record.operation,
    key: record.key,
    keyFields: record.keyFields ?? 'null',
    fingerprint: record.fingerprint,
    input: undefined,
    payload,
    request: record.request,
    policy,
    behaviour: { ...behaviour, call: (_input, context) => send(payload, context) },
  };
  try {
    await perform(store, call, claimed.lease, claimed.record, sentAt);
    return 'succeeded';
  } catch (error) {
    if (error instanceof OperationFailedError) return 'failed';
    if (error instanceof OutcomeUnknownError) {
      const unknown = error.fullRecord();
      if (unknown !== undefined) await noteResend(store, unknown);
      return 'unknown';
    }
    if (error instanceof LeaseLostError) return 'moved';
    if (error instanceof RetrySafeError) throw error;
    // Anything else is the call's own error after a `not_performed` classification: the key was released.
    return 'released';
  }
}

/**
 * Whether the stored request is the one the record's fingerprint was computed from. A re-send or a
 * lookup works from the stored text alone, so a request changed in the store (another URL, another
 * amount) must never be sent with the operation's credentials.
 */
export function requestMatches(record: IdempotencyRecord): boolean {
  return record.request !== null && fingerprintOfCanonical(record.request) === record.fingerprint;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
