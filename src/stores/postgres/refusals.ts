import {
  OverrideStatus,
  RecordState,
  type IdempotencyRecord,
  type OverrideRequest,
} from '../../machine/record.ts';
import type { OverrideRequestInput } from '../types.ts';

export type OverrideAnswer = { ok: true; override: OverrideRequest } | { ok: false; reason: string };

/**
 * Why a key cannot take an override to `fingerprint`, or undefined when it can. The statements decide
 * in SQL; this only words a refusal from the rows they returned (read under the same lock).
 */
function recordRefusal(
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

export function explainOverrideRefusal(
  record: IdempotencyRecord | undefined,
  input: OverrideRequestInput,
  now: number,
): string {
  return (
    recordRefusal(record, input.fingerprint, now) ?? `an override request with id ${input.id} already exists`
  );
}

export function explainApprovalRefusal(
  id: string,
  approvedBy: string,
  pending: OverrideRequest | undefined,
  record: IdempotencyRecord | undefined,
  now: number,
): string {
  if (pending === undefined) return `no override request ${id}`;
  if (pending.status !== OverrideStatus.Pending) return `override ${id} is ${pending.status}`;
  if (pending.requestedBy === approvedBy) {
    return 'an override must be approved by someone other than its requester';
  }
  if (record?.generation !== pending.generation) {
    return `key ${pending.key} moved on since the override was requested`;
  }
  return recordRefusal(record, pending.fingerprint, now) ?? `override ${id} could not be approved`;
}
