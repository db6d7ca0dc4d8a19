import type { ListCursor } from '../types.ts';
import type { Names } from './names.ts';
import { RECORD_COLUMNS, SQL_GC_DUE, sqlStateTerms } from '../shared.ts';

/**
 * Every statement the store runs. Each transition is ONE statement (one round trip, one implicit
 * transaction), built from data-modifying CTEs (`begin` first answers what its snapshot shows cannot be
 * reserved without any of this; see there):
 *
 * - `old` locks the key's row (`FOR UPDATE`) and, in READ COMMITTED, returns its latest committed
 *   version even when it changed after the statement's snapshot. A refused write returns it as the
 *   current record, and the audit rows read what the transition overwrote from it.
 * - `clock` reads the server clock once, after that lock: integer ms from `clock_timestamp()`. Every
 *   time a statement writes (lease end, expiry, `at`, the `now` begin returns) is that one value, so a
 *   lease is exactly `leaseMs` long on the server's clock, and a transition that waited for the row sees
 *   a later time than the one it waited for.
 * - the change itself (`INSERT … ON CONFLICT … DO UPDATE … WHERE` or a fenced `UPDATE`), and the audit
 *   rows it implies, in the same statement.
 *
 * Waiters are notified by a trigger on the records table (see the migration), in the same transaction.
 */
export interface Statements {
  readonly begin: string;
  readonly read: string;
  readonly heartbeat: string;
  readonly settle: string;
  readonly markUnknown: string;
  readonly noteUnknown: string;
  readonly reclaim: string;
  readonly resolve: string;
  readonly requestResolution: string;
  readonly get: string;
  readonly audit: string;
  readonly requestOverride: string;
  readonly approveOverride: string;
  readonly overrides: string;
  readonly overridesOfKey: string;
  readonly gcDelete: string;
  readonly gcCompact: string;
  /** `list` with the filters that are set: `WHERE` clauses and their parameters. */
  list(filter: {
    states?: readonly string[] | undefined;
    operation?: string | undefined;
    updatedBefore?: number | undefined;
    after?: ListCursor | undefined;
    limit: number;
  }): { text: string; values: unknown[] };
}

const columns = (alias: string): string => RECORD_COLUMNS.map((c) => `${alias}.${c}`).join(', ');

const NOW_MS = 'floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint';

/**
 * `clock.now` plus the given durations, capped at the largest integer a JavaScript number holds
 * exactly, so that "practically forever" (a huge tombstoneMs) stays readable rather than overflowing.
 */
function later(...durations: string[]): string {
  return `LEAST(clock.now + ${durations.map((d) => `${d}::bigint`).join(' + ')}, ${Number.MAX_SAFE_INTEGER})`;
}

/** `old` (the locked row of key $1, only when `guard` holds) and `clock` (read after the lock). */
function lockedClock(n: Names, guard = 'true'): string {
  return `old AS MATERIALIZED (
      SELECT r.* FROM ${n.records} AS r WHERE r.key = $1::text AND ${guard} FOR UPDATE
    ),
    clock AS MATERIALIZED (
      SELECT ${NOW_MS} AS now FROM (SELECT count(*) FROM old) AS locked
    )`;
}

/** What a previous attempt left behind, for the audit row of the transition that overwrites it. */
const EVIDENCE = `json_build_object('state', old.state, 'reason', old.reason, 'result', old.result,
      'providerRef', old.provider_ref, 'leaseOwner', old.lease_owner, 'leaseUntil', old.lease_until,
      'keyEvidence', old.key_evidence)`;

/** The `rekeyed` audit detail (the same shape in every store), `base` being the transition's own fields. */
const REKEY_DETAIL = (base: string, evidence: string): string => `json_build_object(${base},
      'fromGeneration', old.generation, 'toGeneration', changed.generation, 'keyEvidence', old.key_evidence,
      'evidence', ${evidence}::json)`;

/**
 * A fenced transition: `changed` is the updated row or nothing; `previous` the locked current row.
 * `where` (the fence) reads `old`, the latest version under our lock, so the row itself is found by its
 * primary key alone: no condition on `r` tempts the planner towards another index.
 */
function fenced(n: Names, set: string, where: string, audit: string): string {
  return `WITH ${lockedClock(n)},
    changed AS (
      UPDATE ${n.records} AS r SET ${set}
      FROM old, clock
      WHERE r.key = $1::text AND r.key = old.key AND ${where}
      RETURNING ${columns('r')}
    )${audit === '' ? '' : `,\n    logged AS (${audit})`}
    SELECT (SELECT row_to_json(changed) FROM changed) AS changed,
           (SELECT row_to_json(old) FROM old) AS previous`;
}

const INSERT_AUDIT = (n: Names): string => `INSERT INTO ${n.audit} (key, at, event, attempt, actor, detail)`;

// Server-side mirrors of the machine's rules (the store contract's model test pins them to it).
/** Mirrors isLapsed (src/machine/lapse.ts) on an in-flight `old`: past its lease end, or none at all. */
const LAPSED = `(old.lease_until IS NULL OR clock.now >= old.lease_until)`;
/** Mirrors holds (src/machine/transitions.ts): the fence of every holder's write. */
const HOLDER = `old.attempt = $2::bigint AND old.lease_owner = $3::text AND old.state = 'in_flight'`;
/** Mirrors isUnsettled (src/machine/lapse.ts): unknown, or lapsed in flight, at exactly attempt $2. */
const UNSETTLED = `old.attempt = $2::bigint AND (old.state = 'unknown' OR (old.state = 'in_flight' AND ${LAPSED}))`;
const NOT_EXPIRED = (alias: string): string =>
  `NOT (${alias}.expires_at IS NOT NULL AND clock.now >= ${alias}.expires_at)`;

/**
 * The conflict table's reserve rows (src/machine/decide.ts) on `row`, at time `now`, for the incoming
 * `fingerprint` (SQL expressions); `$4` is retryFailed.
 */
function reserveTerms(
  row: string,
  now: string,
  fingerprint: string,
): { override: string; fresh: string; reservable: string } {
  const pastTombstone = `(${row}.tombstone_until IS NOT NULL AND ${now} >= ${row}.tombstone_until)`;
  const expired = `(${row}.expires_at IS NOT NULL AND ${now} >= ${row}.expires_at)`;
  const override = `(NOT ${pastTombstone} AND ${row}.state IN ('succeeded', 'failed') AND NOT ${expired}
      AND ${row}.fingerprint <> ${fingerprint}
      AND ${row}.override_fingerprint IS NOT NULL AND ${row}.override_fingerprint = ${fingerprint}
      AND ${row}.override_attempt IS NOT NULL AND ${row}.override_attempt = ${row}.attempt)`;
  const fresh = `(${pastTombstone} OR ${override})`;
  const reservable = `(${pastTombstone}
      OR (${row}.state = 'released' AND ${row}.fingerprint = ${fingerprint})
      OR (${row}.state = 'failed' AND NOT ${expired} AND ${row}.fingerprint = ${fingerprint} AND $4::boolean)
      OR ${override})`;
  return { override, fresh, reservable };
}

export function statements(n: Names): Statements {
  // The reserve predicate: exactly the rows where decide(...).kind === 'reserve' (src/machine/decide.ts),
  // read on the conflicting row `r` with now = excluded.updated_at and the incoming fingerprint.
  const { override, fresh, reservable } = reserveTerms('r', 'excluded.updated_at', 'excluded.fingerprint');
  // The same predicate on the unlocked snapshot row: what it cannot reserve is answered from the snapshot.
  const snapshotReservable = reserveTerms('snap', 'early.now', '$3::text').reservable;

  // A key the snapshot shows as not reservable (a replay, a wait, a mismatch: most calls on an existing
  // key) is answered from that snapshot without a row lock, so the statement writes nothing and its commit
  // waits for no WAL flush; a committed row read a moment before is as good an answer as the same row read
  // under a lock. Otherwise the row is locked and the reservation decided on its latest version, as below.
  const begin = `WITH
    snap AS MATERIALIZED (SELECT r.* FROM ${n.records} AS r WHERE r.key = $1::text),
    early AS MATERIALIZED (SELECT ${NOW_MS} AS now FROM (SELECT count(*) FROM snap) AS read),
    answered AS MATERIALIZED (SELECT 1 FROM snap, early WHERE NOT ${snapshotReservable}),
    ${lockedClock(n, 'NOT EXISTS (SELECT 1 FROM answered)')},
    ins AS (
      INSERT INTO ${n.records} AS r (key, operation, fingerprint, state, attempt, generation, lease_owner,
        lease_until, request, key_fields, created_at, updated_at, last_event)
      SELECT $1::text, $2::text, $3::text, 'in_flight', 1, 1, $5::text, ${later('$6')}, $7::text, $8::text,
        clock.now, clock.now, 'reserved_fresh'
      FROM clock WHERE NOT EXISTS (SELECT 1 FROM answered)
      ON CONFLICT (key) DO UPDATE SET
        operation = excluded.operation,
        fingerprint = excluded.fingerprint,
        state = 'in_flight',
        attempt = r.attempt + 1,
        generation = CASE WHEN ${override} THEN r.generation + 1 ELSE r.generation END,
        lease_owner = excluded.lease_owner,
        lease_until = excluded.lease_until,
        result = NULL,
        request = excluded.request,
        key_fields = excluded.key_fields,
        provider_ref = NULL,
        reason = NULL,
        -- Any reservation moves the record on: an approval it held lapses (decide.ts overrideApplies).
        override_fingerprint = NULL,
        override_attempt = NULL,
        -- Provider-key evidence is per generation (evidenceOnReserve in provider-key-evidence.ts).
        key_evidence = CASE WHEN ${fresh} THEN NULL ELSE r.key_evidence END,
        created_at = CASE WHEN ${fresh} THEN excluded.created_at ELSE r.created_at END,
        updated_at = excluded.updated_at,
        expires_at = NULL,
        tombstone_until = NULL,
        last_event = CASE WHEN ${override} THEN 'override_used'
                          WHEN ${fresh} THEN 'reserved_fresh' ELSE 'reserved' END
      WHERE ${reservable}
      RETURNING r.*
    ),
    used AS (
      UPDATE ${n.overrides} AS o SET status = 'used'
      FROM ins
      WHERE ins.last_event = 'override_used' AND o.key = ins.key AND o.status = 'approved'
        AND o.fingerprint = ins.fingerprint AND o.generation = ins.generation - 1
      RETURNING o.id
    ),
    logged AS (
      ${INSERT_AUDIT(n)}
      SELECT ins.key, ins.updated_at, 'override_used', ins.attempt, 'executor',
        json_build_object('override', (SELECT min(id) FROM used), 'fingerprint', ins.fingerprint,
          'generation', ins.generation)::text
      FROM ins WHERE ins.last_event = 'override_used'
    )
    SELECT (SELECT row_to_json(ins) FROM ins) AS reserved,
           COALESCE((SELECT row_to_json(old) FROM old),
             (SELECT row_to_json(snap) FROM snap WHERE EXISTS (SELECT 1 FROM answered))) AS existing,
           CASE WHEN EXISTS (SELECT 1 FROM answered) THEN early.now ELSE clock.now END AS now
    FROM clock, early`;

  const read = `SELECT ${NOW_MS} AS now, (SELECT row_to_json(r) FROM ${n.records} AS r WHERE r.key = $1) AS existing`;

  const heartbeat = fenced(n, `lease_until = ${later('$4')}, updated_at = clock.now`, HOLDER, '');

  // A refused settle is kept as a late write: the call it reports may be the only proof of a write.
  const settle = fenced(
    n,
    `state = $4::text, result = $5::text, provider_ref = $6::text, reason = $7::text,
       lease_owner = NULL, lease_until = NULL, updated_at = clock.now,
       expires_at = CASE WHEN $4::text = 'unknown' THEN NULL ELSE ${later('$8')} END,
       tombstone_until = CASE WHEN $4::text = 'unknown' THEN NULL
                              ELSE ${later('$8', '$9')} END,
       key_evidence = COALESCE($11::text, r.key_evidence),
       last_event = 'settled'`,
    HOLDER,
    `${INSERT_AUDIT(n)}
      SELECT $1, clock.now, 'late_write', $2::bigint, 'executor',
        -- The stale holder's whole settlement, built only when refused: it may be the only evidence.
        json_build_object('state', $4::text, 'result', $5::text, 'providerRef', $6::text, 'reason', $7::text,
          'ttlMs', $8::bigint, 'tombstoneMs', $9::bigint, 'token', $3::text, 'generation', $10::bigint)::text
      FROM clock WHERE NOT EXISTS (SELECT 1 FROM changed)`,
  );

  const markUnknown = fenced(
    n,
    `state = 'unknown', reason = $3::text, lease_owner = NULL, lease_until = NULL,
       updated_at = clock.now, last_event = 'marked_unknown'`,
    `old.attempt = $2::bigint AND old.state = 'in_flight' AND ${LAPSED}`,
    `${INSERT_AUDIT(n)}
      SELECT changed.key, changed.updated_at, 'marked_unknown', changed.attempt, 'executor',
        json_build_object('reason', $3::text, 'token', old.lease_owner, 'leaseUntil', old.lease_until)::text
      FROM changed, old`,
  );

  // Only the reason changes (not updated_at: the settle delay counts from the attempt).
  const noteUnknown = fenced(
    n,
    `reason = $3::text, last_event = 'still_unknown'`,
    `old.attempt = $2::bigint AND old.state = 'unknown'`,
    `${INSERT_AUDIT(n)}
      SELECT changed.key, clock.now, 'still_unknown', changed.attempt, $4::text,
        json_build_object('action', $5::text, 'answer', $6::text, 'reason', $3::text)::text
      FROM changed, clock`,
  );

  // $6 the evidence the new attempt starts with (null: unchanged); $7 the rekey evidence (JSON text, null:
  // same generation). A rekey applies only to a burned key: mayRekey in provider-key-evidence.ts.
  const rekey = `$7::text IS NOT NULL`;
  const reclaim = fenced(
    n,
    `state = 'in_flight', attempt = r.attempt + 1, lease_owner = $3::text,
       lease_until = ${later('$4')}, result = NULL, provider_ref = NULL, reason = NULL,
       generation = CASE WHEN ${rekey} THEN r.generation + 1 ELSE r.generation END,
       key_evidence = CASE WHEN ${rekey} THEN NULL ELSE COALESCE($6::text, r.key_evidence) END,
       created_at = CASE WHEN ${rekey} THEN clock.now ELSE r.created_at END,
       override_fingerprint = NULL, override_attempt = NULL,
       updated_at = clock.now, expires_at = NULL, tombstone_until = NULL, last_event = 'reclaimed'`,
    `${UNSETTLED} AND (NOT ${rekey} OR old.key_evidence IS NOT DISTINCT FROM 'burned')`,
    `${INSERT_AUDIT(n)}
      SELECT changed.key, changed.updated_at,
        CASE WHEN ${rekey} THEN 'rekeyed' ELSE 'reclaimed' END, changed.attempt, 'executor',
        (CASE WHEN ${rekey}
          THEN ${REKEY_DETAIL(`'reason', $5::text, 'token', $3::text, 'previous', ${EVIDENCE}`, '$7')}
          ELSE json_build_object('reason', $5::text, 'token', $3::text, 'previous', ${EVIDENCE}) END)::text
      FROM changed, old`,
  );

  // $10 the resolver's evidence (JSON); $11 the key evidence the resolution leaves (null: unchanged); $12
  // the new-generation evidence (JSON text,
  // null: same generation), which only a `released` resolution takes.
  const newGeneration = `($12::text IS NOT NULL AND $3::text = 'released')`;
  const resolve = fenced(
    n,
    `state = $3::text, result = $4::text, provider_ref = $5::text, reason = $6::text,
       lease_owner = NULL, lease_until = NULL, updated_at = clock.now,
       expires_at = ${later('$8')}, tombstone_until = ${later('$8', '$9')},
       generation = CASE WHEN ${newGeneration} THEN r.generation + 1 ELSE r.generation END,
       key_evidence = CASE WHEN ${newGeneration} THEN NULL ELSE COALESCE($11::text, r.key_evidence) END,
       created_at = CASE WHEN ${newGeneration} THEN clock.now ELSE r.created_at END,
       last_event = 'resolved'`,
    UNSETTLED,
    `${INSERT_AUDIT(n)}
      SELECT changed.key, changed.updated_at, 'resolved', $2::bigint, $7::text,
        json_build_object('state', changed.state, 'reason', changed.reason, 'result', changed.result,
          'providerRef', changed.provider_ref, 'previous', ${EVIDENCE}, 'evidence', $10::json)::text
      FROM changed, old
      UNION ALL
      SELECT changed.key, changed.updated_at, 'rekeyed', $2::bigint, $7::text,
        ${REKEY_DETAIL(`'reason', $6::text`, '$12')}::text
      FROM changed, old WHERE ${newGeneration}`,
  );

  // Changes no record: the request waits in the audit log for a second person (the lock orders it
  // against a resolution of the same attempt).
  const requestResolution = `WITH ${lockedClock(n)},
    logged AS (
      ${INSERT_AUDIT(n)}
      SELECT old.key, clock.now, 'resolution_requested', $2::bigint, $7::text,
        json_build_object('id', $8::text, 'state', $3::text, 'result', $4::text, 'providerRef', $5::text,
          'reason', $6::text, 'newGeneration', $9::boolean)::text
      FROM old, clock
      WHERE ${UNSETTLED}
      RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM logged) AS ok, (SELECT row_to_json(old) FROM old) AS previous`;

  const requestOverride = `WITH
    old AS MATERIALIZED (SELECT r.* FROM ${n.records} AS r WHERE r.key = $2 FOR UPDATE),
    clock AS MATERIALIZED (SELECT ${NOW_MS} AS now FROM (SELECT count(*) FROM old) AS locked),
    -- Mirrors overrideRefusal (src/machine/overrides.ts); on a refusal the store runs it to say why.
    eligible AS (
      SELECT old.* FROM old, clock
      WHERE old.state IN ('succeeded', 'failed') AND old.fingerprint <> $3::text AND ${NOT_EXPIRED('old')}
    ),
    ins AS (
      INSERT INTO ${n.overrides} (id, key, fingerprint, generation, attempt, payload, requested_by, reason,
        requested_at, status)
      SELECT $1::text, eligible.key, $3::text, eligible.generation, eligible.attempt, $6::text, $4::text,
        $5::text, clock.now, 'pending'
      FROM eligible, clock
      ON CONFLICT (id) DO NOTHING
      RETURNING *
    ),
    logged AS (
      ${INSERT_AUDIT(n)}
      SELECT ins.key, ins.requested_at, 'override_requested', eligible.attempt, ins.requested_by,
        json_build_object('id', ins.id, 'fingerprint', ins.fingerprint, 'generation', ins.generation,
          'reason', ins.reason)::text
      FROM ins, eligible
    )
    SELECT (SELECT row_to_json(old) FROM old) AS record,
           (SELECT row_to_json(ins) FROM ins) AS override,
           clock.now
    FROM clock`;

  const approveOverride = `WITH
    pending AS MATERIALIZED (SELECT o.* FROM ${n.overrides} AS o WHERE o.id = $1 FOR UPDATE),
    old AS MATERIALIZED (
      SELECT r.* FROM ${n.records} AS r WHERE r.key = (SELECT key FROM pending) FOR UPDATE
    ),
    clock AS MATERIALIZED (SELECT ${NOW_MS} AS now FROM (SELECT count(*) FROM old) AS locked),
    -- Mirrors approvalRefusal (src/machine/overrides.ts); on a refusal the store runs it to say why.
    allowed AS (
      SELECT pending.id FROM pending, old, clock
      WHERE pending.status = 'pending' AND pending.requested_by <> $2::text
        AND old.generation = pending.generation AND old.state IN ('succeeded', 'failed')
        -- Requests from before schema version 3 have no attempt and are bound by generation only.
        AND (pending.attempt IS NULL OR old.attempt = pending.attempt)
        AND old.fingerprint <> pending.fingerprint AND ${NOT_EXPIRED('old')}
    ),
    approved AS (
      UPDATE ${n.overrides} AS o SET status = 'approved', approved_by = $2::text, approved_at = clock.now
      FROM allowed, clock
      WHERE o.id = allowed.id
      RETURNING o.*
    ),
    marked AS (
      UPDATE ${n.records} AS r
      SET override_fingerprint = approved.fingerprint, override_attempt = r.attempt,
          updated_at = approved.approved_at,
          last_event = 'override_approved'
      FROM approved
      WHERE r.key = approved.key
      RETURNING r.key
    ),
    logged AS (
      ${INSERT_AUDIT(n)}
      SELECT approved.key, approved.approved_at, 'override_approved', old.attempt, $2::text,
        json_build_object('id', approved.id, 'fingerprint', approved.fingerprint,
          'generation', approved.generation)::text
      FROM approved, old
    )
    SELECT (SELECT row_to_json(pending) FROM pending) AS pending,
           (SELECT row_to_json(old) FROM old) AS record,
           (SELECT row_to_json(approved) FROM approved) AS approved,
           clock.now
    FROM clock`;

  // gc: the batch is found through the gc index (SQL_GC_DUE, settled records only) in index order and
  // stops at the limit; rows another transaction holds are skipped, not waited for. The time is an
  // InitPlan parameter, so it can be an index condition (clock_timestamp() itself is volatile and could
  // not). The locked batch (whose rows FOR UPDATE re-checked against their latest version) is then changed
  // by primary key. gc compacts first, so what is due afterwards is past its tombstone.
  const due = `r.tombstone_until IS NOT NULL AND ${SQL_GC_DUE} <= (SELECT now FROM clock)`;
  const gcDelete = `WITH
    clock AS MATERIALIZED (SELECT ${NOW_MS} AS now),
    batch AS MATERIALIZED (
      SELECT r.key FROM ${n.records} AS r
      WHERE ${due} AND r.tombstone_until <= (SELECT now FROM clock)
      ORDER BY ${SQL_GC_DUE}
      LIMIT $1
      FOR UPDATE SKIP LOCKED
    ),
    gone AS (
      DELETE FROM ${n.records} AS r
      WHERE r.key = ANY (ARRAY(SELECT key FROM batch))
      RETURNING 1
    )
    SELECT count(*)::integer AS n FROM gone`;

  const gcCompact = `WITH
    clock AS MATERIALIZED (SELECT ${NOW_MS} AS now),
    batch AS MATERIALIZED (
      SELECT r.key FROM ${n.records} AS r
      WHERE ${due} AND (r.result IS NOT NULL OR r.request IS NOT NULL)
        AND r.tombstone_until > (SELECT now FROM clock)
      ORDER BY ${SQL_GC_DUE}
      LIMIT $1
      FOR UPDATE SKIP LOCKED
    ),
    compacted AS (
      UPDATE ${n.records} AS r SET result = NULL, request = NULL
      WHERE r.key = ANY (ARRAY(SELECT key FROM batch))
      RETURNING 1
    )
    SELECT count(*)::integer AS n FROM compacted`;

  return {
    begin,
    read,
    heartbeat,
    settle,
    markUnknown,
    noteUnknown,
    reclaim,
    resolve,
    requestResolution,
    get: `SELECT ${columns('r')} FROM ${n.records} AS r WHERE r.key = $1`,
    audit: `SELECT id, key, at, event, attempt, actor, detail FROM ${n.audit} WHERE key = $1 ORDER BY id`,
    requestOverride,
    approveOverride,
    overrides: `SELECT * FROM ${n.overrides} ORDER BY requested_at, id`,
    overridesOfKey: `SELECT * FROM ${n.overrides} WHERE key = $1 ORDER BY requested_at, id`,
    gcDelete,
    gcCompact,
    list(filter) {
      const values: unknown[] = [];
      const where: string[] = [];
      // States are literals (a closed set), so the planner can prove the partial index applies.
      if (filter.states !== undefined) where.push(...sqlStateTerms(filter.states));
      if (filter.operation !== undefined) {
        values.push(filter.operation);
        where.push(`r.operation = $${values.length}`);
      }
      if (filter.updatedBefore !== undefined) {
        values.push(filter.updatedBefore);
        where.push(`r.updated_at < $${values.length}::bigint`);
      }
      if (filter.after !== undefined) {
        // A row comparison: the same order as ORDER BY, and the planner seeks an index to it.
        values.push(filter.after.updatedAt, filter.after.key);
        where.push(`(r.updated_at, r.key) > ($${values.length - 1}::bigint, $${values.length}::text)`);
      }
      values.push(filter.limit);
      const text =
        `SELECT ${columns('r')} FROM ${n.records} AS r` +
        (where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`) +
        ` ORDER BY r.updated_at, r.key LIMIT $${values.length}`;
      return { text, values };
    },
  };
}
