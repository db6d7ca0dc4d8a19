import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCombination } from '../chaos/combination.ts';
import { combinations } from '../chaos/combinations.ts';
import type { StoreName } from '../chaos/impls/types.ts';
import { longRunFile, readLongRuns, renderReport } from '../chaos/report.ts';

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

describe('chaos: combinations and the report', () => {
  it('runs express-idempotency on Redis under --impl all', () => {
    const all = combinations('all', 'all');
    expect(all).toContainEqual({ impl: 'express-idempotency', store: 'redis' });
    expect(combinations('express-idempotency', 'redis')).toEqual([
      { impl: 'express-idempotency', store: 'redis' },
    ]);
    expect(() => combinations('express-idempotency', 'sqlite')).toThrow(/runs on redis/);
  });

  it('renders the long-run table from the saved files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rs-long-runs-'));
    try {
      const command = 'npm run chaos -- --impl express-idempotency --store redis --ops 10000 --save-long-run';
      await writeFile(
        longRunFile('express-idempotency', 'redis', dir),
        JSON.stringify({
          impl: 'express-idempotency',
          store: 'redis',
          logical: 10000,
          effects: 10987,
          duplicates: 1234,
          lost: 56,
          unknown_unresolved: 78,
          late_writes_refused: null,
          command,
        }),
      );
      const text = await renderReport({
        rows: [],
        mix: {},
        command: 'test',
        seed: 1,
        ops: 1,
        workers: 1,
        longRunsDir: dir,
      });
      const section = text.slice(text.indexOf('## Long run'), text.indexOf('## Scenario mix'));
      expect(section).toMatch(
        // logical, effects, duplicates, ops_with_duplicates, lost, unknown_after_run, unknown_unresolved,
        // stale_holders, late_writes_refused: figures a file lacks read n/a.
        /\| express-idempotency +\| redis +\| +10000 \| +10987 \| +1234 \| +n\/a \| +56 \| +n\/a \| +78 \| +n\/a \| +n\/a \|/,
      );
      expect(section).toContain(`\`${command}\``);
      expect(section).toMatch(
        /Not run yet at 10,000 operations: retrysafe on sqlite, .*node-idempotency on redis\./,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads the committed long runs: each names its combination and command', async () => {
    const runs = await readLongRuns();
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) {
      expect(combinations('all', 'all')).toContainEqual({ impl: run.impl, store: run.store });
      expect(run.command).toMatch(/^npm run chaos -- /);
    }
  });
});
