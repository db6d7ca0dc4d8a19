import { RecordState, type IdempotencyRecord } from '../machine/record.ts';
import type { Lease } from './types.ts';

/** The record's columns in the SQL stores, in schema order (snake_case of `IdempotencyRecord`). */
export const RECORD_COLUMNS = [
  'key',
  'operation',
  'fingerprint',
  'state',
  'attempt',
  'generation',
  'lease_owner',
  'lease_until',
  'result',
  'request',
  'provider_ref',
  'reason',
  'override_fingerprint',
  'created_at',
  'updated_at',
  'expires_at',
  'tombstone_until',
] as const;

/** The lease an `in_flight` record grants its holder (every store returns it from begin and reclaim). */
export function leaseOf(record: IdempotencyRecord): Lease {
  return {
    key: record.key,
    attempt: record.attempt,
    generation: record.generation,
    token: record.leaseOwner ?? '',
    leaseUntil: record.leaseUntil ?? record.updatedAt,
  };
}

/**
 * Why a key cannot take an override to `fingerprint` at store time `now`, or undefined when it can.
 * One wording for every store, so operators read the same refusal whatever the backend.
 */
export function overrideRefusal(
  record: IdempotencyRecord | undefined,
  fingerprint: string,
  now: number,
): string | undefined {
  if (record === undefined) return 'no record for this key';
  if (record.state !== RecordState.Succeeded && record.state !== RecordState.Failed) {
    return `key ${record.key} is ${record.state}; only a succeeded or failed key can be overridden`;
  }
  if (record.fingerprint === fingerprint) return 'the override payload is the stored payload';
  if (record.expiresAt !== null && now >= record.expiresAt) {
    return `key ${record.key} is past its TTL; only its tombstone remains`;
  }
  return undefined;
}
