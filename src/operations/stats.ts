import { RecordState } from '../machine/record.ts';
import type { OldestEntry, RecordCounts, Store } from '../stores/types.ts';

/** The oldest record of a state: which, of which operation, and how long ago it last changed. */
export interface OldestRecord extends OldestEntry {
  readonly ageMs: number;
}

/** What `retrysafe stats` (and a console's overview) shows, from the store's counts alone. */
export interface StoreStats {
  /** The time the lapse and ages are judged at. */
  readonly now: number;
  readonly total: number;
  /** Every state, 0 when it has none. */
  readonly byState: Readonly<Record<RecordState, number>>;
  /** Operation to state to count (states without records left out). */
  readonly byOperation: Readonly<Record<string, Readonly<Partial<Record<RecordState, number>>>>>;
  /** In-flight records whose lease has lapsed at `now`: their outcome is unknown (invariant 4). */
  readonly lapsedInFlight: number;
  /** Records whose outcome nobody knows: unknown, plus lapsed in flight (`needsAttention`). */
  readonly needingAttention: number;
  readonly oldestUnknown: OldestRecord | null;
  readonly oldestInFlight: OldestRecord | null;
}

const STATES: readonly RecordState[] = Object.values(RecordState);

/**
 * Counts per state and operation, lapsed in-flight records and the oldest unknown and in-flight
 * records, from `store.count`: no record is listed, so it answers as fast on millions of records.
 *
 * @example
 * ```ts
 * const stats = await storeStats(store);
 * if (stats.needingAttention > 0) page(`${stats.needingAttention} writes with an unknown outcome`);
 * ```
 */
export async function storeStats(store: Store, now: number = Date.now()): Promise<StoreStats> {
  const counts = await store.count({ byOperation: true, lapsedAt: now });
  return statsFromCounts(counts, now);
}

/** The stats a count answer gives (pure: a console can compute them from counts it already has). */
export function statsFromCounts(counts: RecordCounts, now: number): StoreStats {
  const byState = Object.fromEntries(STATES.map((state) => [state, counts.byState[state] ?? 0])) as Record<
    RecordState,
    number
  >;
  const lapsedInFlight = counts.lapsedInFlight ?? 0;
  const oldest = (state: RecordState): OldestRecord | null => {
    const cursor = counts.oldest[state];
    return cursor === undefined ? null : { ...cursor, ageMs: Math.max(0, now - cursor.updatedAt) };
  };
  return {
    now,
    total: STATES.reduce((sum, state) => sum + byState[state], 0),
    byState,
    byOperation: counts.byOperation ?? {},
    lapsedInFlight,
    needingAttention: byState.unknown + lapsedInFlight,
    oldestUnknown: oldest(RecordState.Unknown),
    oldestInFlight: oldest(RecordState.InFlight),
  };
}
