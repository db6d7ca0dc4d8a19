import { randomUUID } from 'node:crypto';
import { ConfigurationError, PayloadTooLargeError, ResolveRefusedError } from '../errors/errors.ts';
import { AuditEvent, RecordState, type IdempotencyRecord, type SettledState } from '../machine/record.ts';
import type { Rekey, ResolutionRequestInput, Store } from '../stores/types.ts';
import { normalizeActor } from './actor.ts';
import { guard } from './guard.ts';
import { encodeResult } from './outcome.ts';
import { requiredText } from './overrides.ts';
import type { OperationPolicy } from './policy.ts';

/**
 * What a person's resolution of an `unknown` outcome needs before it is applied:
 * - `evidence-or-second-person` (default): a provider reference (the provider's id of the write, or of
 *   its refusal) is evidence enough; without one, a second, different person approves a request.
 * - `second-person`: always a request approved by a second person, whatever evidence is given.
 * - `single-person`: one person's word (audited as such). For teams without a second operator on call.
 *
 * Resolving as succeeded makes later callers receive the given result; as not performed (`released`)
 * or failed it can open the key for a new send: both are as consequential as an override.
 */
export type ResolvePolicy = 'evidence-or-second-person' | 'second-person' | 'single-person';

export const RESOLVE_POLICIES: readonly ResolvePolicy[] = [
  'evidence-or-second-person',
  'second-person',
  'single-person',
];

/** A manual resolution of an unknown outcome. */
export interface Resolution {
  readonly state: SettledState;
  /** For `succeeded`: the result later replays return. */
  readonly result?: unknown;
  /** The provider's id of the write (or of its refusal): evidence under the default policy. */
  readonly providerRef?: string;
  /** Who resolves (normalized, recorded in the audit log). */
  readonly by: string;
  /** Why (recorded in the audit log). */
  readonly reason: string;
  /**
   * Only with `released`: the next attempt starts a new generation, so it sends a new provider key
   * (same key, payload and fingerprint). For a provider key that is burned (the provider only replays
   * a stored error under it) when no lookup can prove it: your word that the write did not happen.
   * Audited as `rekeyed` with who and why. Any other state is refused. Default false: the next
   * attempt re-sends under the same provider key, which the provider's own dedupe still guards.
   */
  readonly newGeneration?: boolean;
}

/** A resolution waiting for a second person, as kept in the audit log: the request as made, and when. */
export interface ResolutionRequest extends ResolutionRequestInput {
  readonly requestedAt: number;
  /** Whether its approval starts a new generation (see {@link Resolution.newGeneration}). */
  readonly newGeneration: boolean;
}

/** What a resolution rests on, kept as `evidence` in the `resolved` audit entry. */
type Evidence =
  | { readonly kind: 'provider-ref'; readonly providerRef: string }
  | {
      readonly kind: 'second-person';
      readonly request: string;
      readonly requestedBy: string;
      readonly approvedBy: string;
    }
  | { readonly kind: 'single-person'; readonly policy: 'single-person' };

export function assertResolvePolicy(value: unknown): ResolvePolicy {
  if (value === undefined) return 'evidence-or-second-person';
  if (typeof value === 'string' && (RESOLVE_POLICIES as readonly string[]).includes(value)) {
    return value as ResolvePolicy;
  }
  throw new ConfigurationError(
    `resolvePolicy must be one of ${RESOLVE_POLICIES.join(', ')}, got ${JSON.stringify(value)}`,
  );
}

interface Checked {
  readonly state: SettledState;
  readonly result: string | null;
  readonly providerRef: string | null;
  readonly by: string;
  readonly reason: string;
  readonly newGeneration: boolean;
}

function check(resolution: Resolution): Checked {
  const state: unknown = resolution.state;
  if (state !== RecordState.Succeeded && state !== RecordState.Failed && state !== RecordState.Released) {
    throw new ConfigurationError(`state must be succeeded, failed or released, got ${JSON.stringify(state)}`);
  }
  const providerRef = resolution.providerRef ?? null;
  if (providerRef !== null) requiredText('providerRef', providerRef);
  if (providerRef !== null && state === RecordState.Released) {
    throw new ConfigurationError('a not-performed (released) resolution has no provider reference');
  }
  const newGeneration: unknown = resolution.newGeneration ?? false;
  if (typeof newGeneration !== 'boolean') {
    throw new ConfigurationError(`newGeneration must be true or false, got ${JSON.stringify(newGeneration)}`);
  }
  // A new provider key only makes sense for a write that did not happen: after a success or a failure
  // there is no next attempt to send it (and the store would ignore it silently).
  if (newGeneration && state !== RecordState.Released) {
    throw new ConfigurationError(
      `newGeneration goes with state released (not performed) only, got state ${state}`,
    );
  }
  return {
    state,
    result: state === RecordState.Succeeded ? encodeResult(resolution.result) : null,
    providerRef,
    by: normalizeActor('by', resolution.by),
    reason: requiredText('reason', resolution.reason),
    newGeneration,
  };
}

/**
 * The `rekeyed` evidence of a person's new generation: who asked, why, and what the resolution rests on
 * (the store records the actor and reason beside it).
 */
function personRekey(requestedBy: string, reason: string, resolution: Evidence): Rekey {
  return { evidence: { source: 'person', requestedBy, reason, resolution } };
}

/**
 * A person's result is refused rather than dropped (as a too large result of a write is): they can give
 * a smaller one, or the provider reference alone. Checked before anything is stored.
 */
function assertResultFits(result: string | null, policy: OperationPolicy): void {
  const bytes = result === null ? 0 : Buffer.byteLength(result, 'utf8');
  if (bytes > policy.maxResultBytes) {
    throw new PayloadTooLargeError('result', bytes, policy.maxResultBytes, 'maxResultBytes');
  }
}

async function recordOf(store: Store, key: string): Promise<IdempotencyRecord> {
  const record = await guard(() => store.get(key), 'read the record');
  if (record === undefined) throw new ResolveRefusedError(`no record for key ${key}`);
  return record;
}

function notOpen(key: string, record: IdempotencyRecord): ResolveRefusedError {
  return new ResolveRefusedError(
    `key ${key} is ${record.state} at attempt ${record.attempt}: only an unknown outcome (or a lapsed ` +
      'lease) can be resolved',
    record,
  );
}

/** Applies a person's resolution at once, if the policy lets this one person do it; else refuses. */
export async function resolveNow(
  store: Store,
  policyOf: (operation: string) => OperationPolicy,
  resolvePolicy: ResolvePolicy,
  key: string,
  resolution: Resolution,
): Promise<IdempotencyRecord> {
  const checked = check(resolution);
  const record = await recordOf(store, key);
  const evidence: Evidence | undefined =
    resolvePolicy === 'single-person'
      ? { kind: 'single-person', policy: 'single-person' }
      : resolvePolicy === 'evidence-or-second-person' && checked.providerRef !== null
        ? { kind: 'provider-ref', providerRef: checked.providerRef }
        : undefined;
  if (evidence === undefined) {
    const what = checked.state === RecordState.Released ? 'not performed' : checked.state;
    throw new ResolveRefusedError(
      `resolving key ${key} as ${what} needs ` +
        (resolvePolicy === 'second-person'
          ? 'a second person (resolvePolicy second-person)'
          : 'evidence (the provider reference of the write or its refusal) or a second person') +
        ': request it (requestResolution, `retrysafe resolve --request`) and have someone else approve it',
      record,
    );
  }
  const policy = policyOf(record.operation);
  assertResultFits(checked.result, policy);
  const resolved = await guard(
    () =>
      store.resolve({
        key,
        attempt: record.attempt,
        state: checked.state,
        result: checked.result,
        providerRef: checked.providerRef,
        reason: checked.reason,
        actor: checked.by,
        ttlMs: policy.ttlMs,
        tombstoneMs: policy.tombstoneMs,
        evidence: JSON.stringify(evidence),
        ...(checked.newGeneration
          ? { newGeneration: personRekey(checked.by, checked.reason, evidence) }
          : {}),
      }),
    'record the resolution',
  );
  if (!resolved.ok) throw notOpen(key, resolved.record ?? record);
  return resolved.record;
}

/** Records a resolution for a second person to approve. Nothing changes on the record. */
export async function requestResolution(
  store: Store,
  policyOf: (operation: string) => OperationPolicy,
  key: string,
  resolution: Resolution,
): Promise<ResolutionRequest> {
  const checked = check(resolution);
  const record = await recordOf(store, key);
  assertResultFits(checked.result, policyOf(record.operation));
  const id = randomUUID();
  const answer = await guard(
    () =>
      store.requestResolution({
        id,
        key,
        attempt: record.attempt,
        state: checked.state,
        result: checked.result,
        providerRef: checked.providerRef,
        reason: checked.reason,
        requestedBy: checked.by,
        newGeneration: checked.newGeneration,
      }),
    'record the resolution request',
  );
  if (!answer.ok) throw notOpen(key, answer.record ?? record);
  const entry = (await guard(() => store.audit(key), 'read the audit log'))
    .map(requestFromEntry)
    .find((request) => request?.id === id);
  if (entry === undefined) throw new ResolveRefusedError(`the resolution request ${id} was not kept`, record);
  return entry;
}

/** The resolution requests of a key, from its audit log (oldest first). */
export async function resolutionRequests(store: Store, key: string): Promise<ResolutionRequest[]> {
  const audit = await guard(() => store.audit(key), 'read the audit log');
  return audit.map(requestFromEntry).filter((request) => request !== undefined);
}

/**
 * A second, different (normalized) person approves a resolution request: it is applied, fenced on the
 * attempt it was requested for, so a record that moved on since refuses it.
 */
export async function approveResolution(
  store: Store,
  policyOf: (operation: string) => OperationPolicy,
  key: string,
  id: string,
  by: unknown,
): Promise<IdempotencyRecord> {
  const approvedBy = normalizeActor('by', by);
  const request = (await resolutionRequests(store, key)).find((candidate) => candidate.id === id);
  if (request === undefined) throw new ResolveRefusedError(`key ${key} has no resolution request ${id}`);
  if (request.requestedBy === approvedBy) {
    throw new ResolveRefusedError(
      `resolution request ${id} was made by ${approvedBy}; another person must approve it`,
    );
  }
  const record = await recordOf(store, key);
  const policy = policyOf(record.operation);
  const evidence: Evidence = {
    kind: 'second-person',
    request: id,
    requestedBy: request.requestedBy,
    approvedBy,
  };
  const resolved = await guard(
    () =>
      store.resolve({
        key,
        attempt: request.attempt,
        state: request.state,
        result: request.result,
        providerRef: request.providerRef,
        reason: request.reason,
        actor: approvedBy,
        ttlMs: policy.ttlMs,
        tombstoneMs: policy.tombstoneMs,
        evidence: JSON.stringify(evidence),
        ...(request.newGeneration
          ? { newGeneration: personRekey(request.requestedBy, request.reason, evidence) }
          : {}),
      }),
    'record the resolution',
  );
  if (!resolved.ok) {
    throw new ResolveRefusedError(
      `resolution request ${id} was for attempt ${request.attempt}; key ${key} is now ` +
        `${resolved.record?.state ?? 'gone'} at attempt ${resolved.record?.attempt ?? '-'}: it moved on`,
      resolved.record ?? record,
    );
  }
  return resolved.record;
}

function requestFromEntry(entry: {
  event: string;
  key: string;
  attempt: number;
  actor: string;
  at: number;
  detail: string;
}): ResolutionRequest | undefined {
  if (entry.event !== AuditEvent.ResolutionRequested) return undefined;
  const detail = JSON.parse(entry.detail) as Record<string, unknown>;
  const state = detail['state'];
  if (state !== RecordState.Succeeded && state !== RecordState.Failed && state !== RecordState.Released) {
    return undefined;
  }
  const text = (name: string): string | null => {
    const value = detail[name];
    return typeof value === 'string' ? value : null;
  };
  const id = text('id');
  if (id === null) return undefined;
  return {
    id,
    key: entry.key,
    attempt: entry.attempt,
    state,
    result: text('result'),
    providerRef: text('providerRef'),
    reason: text('reason') ?? '',
    requestedBy: entry.actor,
    requestedAt: entry.at,
    // Only a released request can carry it (checked when it was made); entries older than the field have none.
    newGeneration: detail['newGeneration'] === true && state === RecordState.Released,
  };
}
