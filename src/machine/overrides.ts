import { OverrideStatus, RecordState, type IdempotencyRecord, type OverrideRequest } from './record.ts';

/**
 * Why a store refused an override request or approval: a code and the fields its words need. The
 * rules below decide it; SQLite and PostgreSQL run them on the rows they read under the lock, the Redis
 * scripts mirror them (stores/redis/scripts/request-override.lua, approve-override.lua) and return the
 * same codes; `refusalText` (stores/refusals.ts) gives every store the same words.
 */
export type OverrideRefusal =
  /** The key has no record. */
  | { readonly code: 'no_record'; readonly key: string }
  /** Only a succeeded or failed record can be overridden. */
  | { readonly code: 'not_settled'; readonly key: string; readonly state: RecordState }
  /** The override's payload is the one the key already holds. */
  | { readonly code: 'same_payload'; readonly key: string }
  /** Past its TTL only the tombstone remains, and a tombstone cannot be overridden. */
  | { readonly code: 'tombstone'; readonly key: string }
  /** A request with this id exists already. */
  | { readonly code: 'duplicate_request'; readonly id: string }
  /** No override request has this id. */
  | { readonly code: 'no_request'; readonly id: string }
  /** The request was approved, or used, already. */
  | { readonly code: 'not_pending'; readonly id: string; readonly status: OverrideStatus }
  /** The approver is the requester: a second identity must approve. */
  | { readonly code: 'same_approver'; readonly id: string; readonly requestedBy: string }
  /** The record moved to another generation or attempt since the request was made. */
  | {
      readonly code: 'moved_on';
      readonly id: string;
      readonly key: string;
      readonly requested: { readonly generation: number; readonly attempt: number };
      readonly now: { readonly generation: number; readonly attempt: number };
    };

export type OverrideRefusalCode = OverrideRefusal['code'];

/**
 * Why `record` (of `key`) cannot take an override to `fingerprint` at store time `now`, or undefined
 * when it can. Checked in this order, on every store.
 *
 * @example
 * ```ts
 * overrideRefusal('k', undefined, 'sha256:…', now); // { code: 'no_record', key: 'k' }
 * ```
 */
export function overrideRefusal(
  key: string,
  record: IdempotencyRecord | undefined,
  fingerprint: string,
  now: number,
): OverrideRefusal | undefined {
  if (record === undefined) return { code: 'no_record', key };
  if (record.state !== RecordState.Succeeded && record.state !== RecordState.Failed) {
    return { code: 'not_settled', key, state: record.state };
  }
  if (record.fingerprint === fingerprint) return { code: 'same_payload', key };
  if (record.expiresAt !== null && now >= record.expiresAt) return { code: 'tombstone', key };
  return undefined;
}

/**
 * Why `approvedBy` cannot approve `pending` (the request with id `id`, undefined when there is none) on
 * `record`, its key's current record, at store time `now`; undefined when the approval applies. A
 * request from before requests kept their attempt (attempt 0) is bound by generation only.
 *
 * @example
 * ```ts
 * approvalRefusal(request.id, request, request.requestedBy, record, now);
 * // { code: 'same_approver', id: request.id, requestedBy: request.requestedBy }
 * ```
 */
export function approvalRefusal(
  id: string,
  pending: OverrideRequest | undefined,
  approvedBy: string,
  record: IdempotencyRecord | undefined,
  now: number,
): OverrideRefusal | undefined {
  if (pending === undefined) return { code: 'no_request', id };
  if (pending.status !== OverrideStatus.Pending) return { code: 'not_pending', id, status: pending.status };
  if (pending.requestedBy === approvedBy) {
    return { code: 'same_approver', id, requestedBy: pending.requestedBy };
  }
  if (record === undefined) return { code: 'no_record', key: pending.key };
  const attemptMoved = pending.attempt !== 0 && record.attempt !== pending.attempt;
  if (record.generation !== pending.generation || attemptMoved) {
    return {
      code: 'moved_on',
      id,
      key: pending.key,
      requested: { generation: pending.generation, attempt: pending.attempt },
      now: { generation: record.generation, attempt: record.attempt },
    };
  }
  return overrideRefusal(pending.key, record, pending.fingerprint, now);
}
