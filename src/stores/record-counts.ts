import { RecordState } from '../machine/record.ts';
import type { CountFilter, OldestEntry, RecordCounts } from './types.ts';
import { sqlStateTerms } from './shared.ts';

/**
 * `count` for the SQL stores: the statements (one grouped COUNT over the state/operation index, one
 * COUNT of lapsed in-flight records over the open-states index, one indexed look-up of each state's
 * oldest key) and how their rows become `RecordCounts`. `placeholder(n)` writes the n-th parameter
 * (`?` for SQLite, `$n` for PostgreSQL); `records` is the quoted table name.
 */

const ALL_STATES: readonly RecordState[] = Object.values(RecordState);

export interface SqlQuery {
  readonly text: string;
  readonly values: readonly unknown[];
}

/** One row of the grouped count: a state and operation, how many, and their oldest `updated_at`. */
export interface CountGroup {
  readonly state: string;
  readonly operation: string;
  readonly n: number | string | bigint;
  readonly oldest: number | string | bigint;
}

function where(
  filter: CountFilter,
  placeholder: (n: number) => string,
  values: unknown[],
  terms: string[],
): string {
  if (filter.operation !== undefined) {
    values.push(filter.operation);
    terms.push(`operation = ${placeholder(values.length)}`);
  }
  if (filter.updatedBefore !== undefined) {
    values.push(filter.updatedBefore);
    terms.push(`updated_at < ${placeholder(values.length)}`);
  }
  return terms.length === 0 ? '' : ` WHERE ${terms.join(' AND ')}`;
}

export function statesOf(filter: CountFilter): readonly RecordState[] {
  return [...new Set(filter.states ?? ALL_STATES)];
}

/** The grouped count: `SELECT state, operation, n, oldest ... GROUP BY state, operation`. */
export function groupedCount(
  records: string,
  filter: CountFilter,
  placeholder: (n: number) => string,
): SqlQuery {
  const values: unknown[] = [];
  const terms = filter.states === undefined ? [] : sqlStateTerms(statesOf(filter));
  return {
    text:
      `SELECT state, operation, COUNT(*) AS n, MIN(updated_at) AS oldest FROM ${records}` +
      where(filter, placeholder, values, terms) +
      ' GROUP BY state, operation',
    values,
  };
}

/**
 * In-flight records whose lease lapsed at `lapsedAt`: no lease end, or one at or before it. The SQL
 * mirror of `isLapsed` (src/machine/), pinned by the store contract's count test.
 */
export function lapsedCount(
  records: string,
  filter: CountFilter,
  lapsedAt: number,
  placeholder: (n: number) => string,
): SqlQuery {
  const values: unknown[] = [lapsedAt];
  const terms = [
    ...sqlStateTerms([RecordState.InFlight]),
    `(lease_until IS NULL OR lease_until <= ${placeholder(1)})`,
  ];
  return { text: `SELECT COUNT(*) AS n FROM ${records}` + where(filter, placeholder, values, terms), values };
}

/** The first key (in `list` order) of one state and operation at its oldest `updated_at`. */
export function oldestKey(
  records: string,
  group: { state: RecordState; operation: string; updatedAt: number },
  placeholder: (n: number) => string,
): SqlQuery {
  return {
    text:
      `SELECT key FROM ${records} WHERE ${sqlStateTerms([group.state]).join(' AND ')} AND operation = ${placeholder(1)}` +
      ` AND updated_at = ${placeholder(2)} ORDER BY key LIMIT 1`,
    values: [group.operation, group.updatedAt],
  };
}

/** The grouped rows as counts, and per state the group holding its oldest record (its key still to read). */
export function countsFromGroups(
  filter: CountFilter,
  groups: readonly CountGroup[],
): {
  byState: Partial<Record<RecordState, number>>;
  byOperation: Record<string, Partial<Record<RecordState, number>>>;
  oldestGroups: { state: RecordState; operation: string; updatedAt: number }[];
} {
  const byState: Partial<Record<RecordState, number>> = {};
  for (const state of statesOf(filter)) byState[state] = 0;
  const byOperation: Record<string, Partial<Record<RecordState, number>>> = {};
  const oldest = new Map<RecordState, { state: RecordState; operation: string; updatedAt: number }>();
  for (const group of groups) {
    const state = group.state as RecordState;
    const n = Number(group.n);
    const updatedAt = Number(group.oldest);
    byState[state] = (byState[state] ?? 0) + n;
    const perOperation = (byOperation[group.operation] ??= {});
    perOperation[state] = (perOperation[state] ?? 0) + n;
    const best = oldest.get(state);
    // Ties on updated_at go to the smaller operation's key only after reading both: keep every tie.
    if (best === undefined || updatedAt < best.updatedAt)
      oldest.set(state, { state, operation: group.operation, updatedAt });
  }
  const oldestGroups = [...oldest.values()].flatMap((best) =>
    groups
      .filter((g) => g.state === best.state && Number(g.oldest) === best.updatedAt)
      .map((g) => ({ state: best.state, operation: g.operation, updatedAt: best.updatedAt })),
  );
  return { byState, byOperation, oldestGroups };
}

/** Puts the parts together; `oldestKeys` are the keys read for `oldestGroups`, in the same order. */
export function assembleCounts(
  filter: CountFilter,
  parts: ReturnType<typeof countsFromGroups>,
  oldestKeys: readonly (string | undefined)[],
  lapsedInFlight: number | undefined,
): RecordCounts {
  const oldest: Partial<Record<RecordState, OldestEntry>> = {};
  parts.oldestGroups.forEach((group, index) => {
    const key = oldestKeys[index];
    if (key === undefined) return;
    const known = oldest[group.state];
    if (known === undefined || key < known.key) {
      oldest[group.state] = { updatedAt: group.updatedAt, key, operation: group.operation };
    }
  });
  return {
    byState: parts.byState,
    ...(filter.byOperation === true ? { byOperation: parts.byOperation } : {}),
    ...(lapsedInFlight === undefined ? {} : { lapsedInFlight }),
    oldest,
  };
}

/** The answer for a filter with no states. */
export function emptyCounts(filter: CountFilter): RecordCounts {
  return {
    byState: {},
    ...(filter.byOperation === true ? { byOperation: {} } : {}),
    ...(filter.lapsedAt === undefined ? {} : { lapsedInFlight: 0 }),
    oldest: {},
  };
}
