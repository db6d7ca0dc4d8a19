import type {
  AuditEntry,
  AuditEvent,
  IdempotencyRecord,
  OverrideRequest,
  OverrideStatus,
  RecordState,
} from '../../machine/record.ts';

type Row = Record<string, unknown>;

/** `pg` returns bigint columns as strings (and numbers inside JSON); both become numbers here. */
function int(value: unknown, column: string): number {
  const parsed = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(parsed)) throw new Error(`retrysafe: column ${column} is not an integer`);
  return parsed;
}

function intOrNull(value: unknown, column: string): number | null {
  return value === null || value === undefined ? null : int(value, column);
}

function text(value: unknown, column: string): string {
  if (typeof value !== 'string') throw new Error(`retrysafe: column ${column} is not text`);
  return value;
}

function textOrNull(value: unknown, column: string): string | null {
  return value === null || value === undefined ? null : text(value, column);
}

export function toRecord(row: Row): IdempotencyRecord {
  return {
    key: text(row['key'], 'key'),
    operation: text(row['operation'], 'operation'),
    fingerprint: text(row['fingerprint'], 'fingerprint'),
    state: text(row['state'], 'state') as RecordState,
    attempt: int(row['attempt'], 'attempt'),
    generation: int(row['generation'], 'generation'),
    leaseOwner: textOrNull(row['lease_owner'], 'lease_owner'),
    leaseUntil: intOrNull(row['lease_until'], 'lease_until'),
    result: textOrNull(row['result'], 'result'),
    request: textOrNull(row['request'], 'request'),
    keyFields: textOrNull(row['key_fields'], 'key_fields'),
    providerRef: textOrNull(row['provider_ref'], 'provider_ref'),
    reason: textOrNull(row['reason'], 'reason'),
    overrideFingerprint: textOrNull(row['override_fingerprint'], 'override_fingerprint'),
    createdAt: int(row['created_at'], 'created_at'),
    updatedAt: int(row['updated_at'], 'updated_at'),
    expiresAt: intOrNull(row['expires_at'], 'expires_at'),
    tombstoneUntil: intOrNull(row['tombstone_until'], 'tombstone_until'),
    overrideAttempt: intOrNull(row['override_attempt'], 'override_attempt'),
  };
}

/** A record column that is null when the statement found no row (a LEFT JOIN or JSON null). */
export function toRecordOrUndefined(row: Row | null | undefined): IdempotencyRecord | undefined {
  return row === null || row === undefined || row['key'] === null || row['key'] === undefined
    ? undefined
    : toRecord(row);
}

export function toAuditEntry(row: Row): AuditEntry {
  return {
    id: int(row['id'], 'id'),
    key: text(row['key'], 'key'),
    at: int(row['at'], 'at'),
    event: text(row['event'], 'event') as AuditEvent,
    attempt: int(row['attempt'], 'attempt'),
    actor: text(row['actor'], 'actor'),
    detail: text(row['detail'], 'detail'),
  };
}

export function toOverride(row: Row): OverrideRequest {
  return {
    id: text(row['id'], 'id'),
    key: text(row['key'], 'key'),
    fingerprint: text(row['fingerprint'], 'fingerprint'),
    generation: int(row['generation'], 'generation'),
    // Requests made before version 3 of the schema knew only their generation.
    attempt: intOrNull(row['attempt'], 'attempt') ?? 0,
    payload: textOrNull(row['payload'], 'payload'),
    requestedBy: text(row['requested_by'], 'requested_by'),
    reason: text(row['reason'], 'reason'),
    requestedAt: int(row['requested_at'], 'requested_at'),
    approvedBy: textOrNull(row['approved_by'], 'approved_by'),
    approvedAt: intOrNull(row['approved_at'], 'approved_at'),
    status: text(row['status'], 'status') as OverrideStatus,
  };
}

/** A JSON column holding a row (`row_to_json`), or null. */
export function jsonRow(value: unknown): Row | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Row) : undefined;
}
