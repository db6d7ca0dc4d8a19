import { OverrideStatus, type IdempotencyRecord, type OverrideRequest } from '../../machine/record.ts';
import { overrideRefusal } from '../shared.ts';
import type { OverrideRequestInput } from '../types.ts';

export type OverrideAnswer = { ok: true; override: OverrideRequest } | { ok: false; reason: string };

export function explainOverrideRefusal(
  record: IdempotencyRecord | undefined,
  input: OverrideRequestInput,
  now: number,
): string {
  return (
    overrideRefusal(record, input.fingerprint, now) ??
    `an override request with id ${input.id} already exists`
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
  const attemptMoved = pending.attempt !== 0 && record?.attempt !== pending.attempt;
  if (record?.generation !== pending.generation || attemptMoved) {
    return `key ${pending.key} moved on since the override was requested`;
  }
  return overrideRefusal(record, pending.fingerprint, now) ?? `override ${id} could not be approved`;
}
