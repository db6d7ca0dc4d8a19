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
  'key_fields',
  'provider_ref',
  'reason',
  'override_fingerprint',
  'created_at',
  'updated_at',
  'expires_at',
  'tombstone_until',
  'key_evidence',
  'override_attempt',
] as const;

/**
 * When gc next has work on a settled record: compaction at `expires_at` while it still holds a result or
 * a request, deletion at `tombstone_until` after. Both SQL stores index exactly this expression (for
 * settled records only), so a settle writes one gc index entry, and gc finds both kinds of work in it.
 */
export const SQL_GC_DUE =
  '(CASE WHEN result IS NOT NULL OR request IS NOT NULL THEN expires_at ELSE tombstone_until END)';

/**
 * The states the SQL stores index for listing (`(state, updated_at)`, partial): the records that need
 * attention. Settled records leave that index, so a settle does not write to it; listing settled states
 * is an operator's query and scans.
 */
export const SQL_OPEN_STATES = `state IN ('${RecordState.InFlight}', '${RecordState.Unknown}')`;

/**
 * The WHERE terms of a `list` by states, as SQL literals (they come from a closed set, checked here).
 * When every state is open, the partial index's own predicate is repeated verbatim, which is what lets
 * SQLite (and PostgreSQL with a generic plan) prove the partial index applies.
 */
export function sqlStateTerms(states: readonly string[]): string[] {
  const known = new Set<string>(Object.values(RecordState));
  for (const state of states) {
    if (!known.has(state)) throw new TypeError(`list: unknown state ${JSON.stringify(state)}`);
  }
  const list = `state IN (${[...new Set(states)].map((state) => `'${state}'`).join(', ')})`;
  const open = states.every((state) => state === RecordState.InFlight || state === RecordState.Unknown);
  return open ? [SQL_OPEN_STATES, list] : [list];
}

/** The lease an `in_flight` record grants its holder (every store returns it from begin and reclaim). */
export function leaseOf(record: IdempotencyRecord): Lease {
  // A store that reserved without a lease is broken: a made-up lease would only fail every fence later.
  if (record.leaseOwner === null || record.leaseUntil === null) {
    throw new TypeError(`the ${record.state} record of ${record.key} holds no lease`);
  }
  return {
    key: record.key,
    attempt: record.attempt,
    generation: record.generation,
    token: record.leaseOwner,
    leaseUntil: record.leaseUntil,
  };
}
