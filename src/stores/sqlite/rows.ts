import {
  AuditEvent,
  OverrideStatus,
  RecordState,
  type AuditEntry,
  type IdempotencyRecord,
  type OverrideRequest,
} from '../../machine/record.ts';
import { RECORD_COLUMNS } from '../shared.ts';

/** A records row as SQLite returns it (and as the upsert binds it, by name). */
export interface RecordRow {
  key: string;
  operation: string;
  fingerprint: string;
  state: string;
  attempt: number;
  generation: number;
  lease_owner: string | null;
  lease_until: number | null;
  result: string | null;
  request: string | null;
  key_fields: string | null;
  provider_ref: string | null;
  reason: string | null;
  override_fingerprint: string | null;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
  tombstone_until: number | null;
  override_attempt: number | null;
}

// Every shared column is a field of the row type the upsert binds by name.
RECORD_COLUMNS satisfies readonly (keyof RecordRow)[];

export interface AuditRow {
  id: number;
  key: string;
  at: number;
  event: string;
  attempt: number;
  actor: string;
  detail: string;
}

export interface OverrideRow {
  id: string;
  key: string;
  fingerprint: string;
  generation: number;
  attempt: number | null;
  payload: string | null;
  requested_by: string;
  reason: string;
  requested_at: number;
  approved_by: string | null;
  approved_at: number | null;
  status: string;
}

/** Narrows a stored text column to one of a set of known values; anything else means a corrupt row. */
function oneOf<T extends string>(values: Record<string, T>, value: string, column: string): T {
  const found = Object.values(values).find((known) => known === value);
  if (found === undefined)
    throw new Error(`retrysafe: unexpected ${column} ${JSON.stringify(value)} in SQLite`);
  return found;
}

export function recordFromRow(row: RecordRow): IdempotencyRecord {
  return {
    key: row.key,
    operation: row.operation,
    fingerprint: row.fingerprint,
    state: oneOf(RecordState, row.state, 'state'),
    attempt: row.attempt,
    generation: row.generation,
    leaseOwner: row.lease_owner,
    leaseUntil: row.lease_until,
    result: row.result,
    request: row.request,
    keyFields: row.key_fields,
    providerRef: row.provider_ref,
    reason: row.reason,
    overrideFingerprint: row.override_fingerprint,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    tombstoneUntil: row.tombstone_until,
    overrideAttempt: row.override_attempt,
  };
}

export function rowFromRecord(record: IdempotencyRecord): RecordRow {
  return {
    key: record.key,
    operation: record.operation,
    fingerprint: record.fingerprint,
    state: record.state,
    attempt: record.attempt,
    generation: record.generation,
    lease_owner: record.leaseOwner,
    lease_until: record.leaseUntil,
    result: record.result,
    request: record.request,
    key_fields: record.keyFields,
    provider_ref: record.providerRef,
    reason: record.reason,
    override_fingerprint: record.overrideFingerprint,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    expires_at: record.expiresAt,
    tombstone_until: record.tombstoneUntil,
    override_attempt: record.overrideAttempt,
  };
}

export function auditFromRow(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    key: row.key,
    at: row.at,
    event: oneOf(AuditEvent, row.event, 'audit event'),
    attempt: row.attempt,
    actor: row.actor,
    detail: row.detail,
  };
}

export function overrideFromRow(row: OverrideRow): OverrideRequest {
  return {
    id: row.id,
    key: row.key,
    fingerprint: row.fingerprint,
    generation: row.generation,
    // Requests made before version 3 of the schema knew only their generation.
    attempt: row.attempt ?? 0,
    payload: row.payload,
    requestedBy: row.requested_by,
    reason: row.reason,
    requestedAt: row.requested_at,
    approvedBy: row.approved_by,
    approvedAt: row.approved_at,
    status: oneOf(OverrideStatus, row.status, 'override status'),
  };
}
