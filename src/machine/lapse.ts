import { RecordState, type IdempotencyRecord } from './record.ts';

/**
 * Whether a lease still holds, and what follows from it. The one definition of "lapsed": the stores'
 * server-side mirrors (PostgreSQL `LAPSED` in stores/postgres/sql.ts, Redis `lease_lapsed` in
 * stores/redis/scripts/lib.lua) name these functions and the store contract's model test pins them.
 */

/**
 * An in-flight record whose holder still holds its lease at `now` (`decide` waits for it).
 *
 * @example
 * ```ts
 * if (isLeaseLive(record, now)) await sleep(record.leaseUntil - now);
 * ```
 */
export function isLeaseLive(
  record: IdempotencyRecord,
  now: number,
): record is IdempotencyRecord & { leaseUntil: number } {
  return record.state === RecordState.InFlight && record.leaseUntil !== null && now < record.leaseUntil;
}

/**
 * In flight with a lease that has run out (`now >= leaseUntil`), or with no lease end at all: an
 * in-flight record without one (a damaged or hand-edited row) has no holder anyone could wait for.
 *
 * @example
 * ```ts
 * isLapsed({ ...record, state: 'in_flight', leaseUntil: null }, Date.now()); // true
 * ```
 */
export function isLapsed(record: IdempotencyRecord, now: number): boolean {
  return record.state === RecordState.InFlight && !isLeaseLive(record, now);
}

/** Unknown, or lapsed in flight, at exactly `attempt`: what reclaim, resolve and requestResolution act on. */
export function isUnsettled(
  record: IdempotencyRecord | undefined,
  attempt: number,
  now: number,
): record is IdempotencyRecord {
  return (
    record !== undefined &&
    record.attempt === attempt &&
    (record.state === RecordState.Unknown || isLapsed(record, now))
  );
}

/**
 * Whether an operator must look at the record: its outcome is unknown, or it is in flight past its
 * lease, so nobody knows what happened (SEMANTICS.md, invariant 4). `retrysafe ls`, `stats` and
 * `reconcile` count these.
 *
 * @example
 * ```ts
 * const open = records.filter((record) => needsAttention(record, now));
 * ```
 */
export function needsAttention(record: IdempotencyRecord, now: number): boolean {
  return record.state === RecordState.Unknown || isLapsed(record, now);
}
