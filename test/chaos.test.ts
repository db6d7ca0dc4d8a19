import { describe, expect, it } from 'vitest';
import { runCombination } from '../chaos/combination.ts';
import type { StoreName } from '../chaos/impls/types.ts';

/**
 * A short fixed-seed chaos run of retrysafe on every store: kill -9 at the four points, a frozen holder
 * past its lease, provider faults, concurrent duplicate triggers, late replays, worker clock skew and a
 * store server restart. Any duplicate effect or lost operation fails it. The long run is `npm run chaos`.
 */
const SEED = 20240611;
const OPS = 100;

describe.each<StoreName>(['sqlite', 'postgres', 'redis'])('chaos: retrysafe on %s', (store) => {
  it('performs every operation exactly once under the fault schedule', { timeout: 120_000 }, async () => {
    const { figures } = await runCombination({ impl: 'retrysafe', store, ops: OPS, workers: 3, seed: SEED });
    expect(figures.violations).toEqual([]);
    expect(figures.duplicates).toBe(0);
    expect(figures.lost).toBe(0);
    expect(figures.unknown_unresolved).toBe(0);
    expect(figures.effects).toBe(OPS);
    expect(figures.late_writes_refused).toBeGreaterThanOrEqual(figures.stale_holders);
    // The schedule really injected faults: the run is not a quiet one.
    expect(figures.kills).toBeGreaterThan(0);
    expect(figures.redeliveries).toBeGreaterThan(0);
  });
});
