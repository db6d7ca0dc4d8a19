import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { statsCommand } from '../../src/cli/commands/stats.ts';
import type { Io } from '../../src/cli/output.ts';
import { retrysafe } from '../../src/index.ts';
import { storeStats } from '../../src/operations/index.ts';
import { sqliteStore } from '../../src/stores/sqlite/index.ts';
import type { Store } from '../../src/stores/types.ts';

/**
 * `retrysafe stats` on a store of a million records answers from counts: it never lists them. The rows
 * are written by one INSERT ... SELECT from a recursive CTE (seconds), straight into the store's table.
 */
const RECORDS = 1_000_000;
const NOW = 1_800_000_000_000;

let dir: string;
let store: Store;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'retrysafe-million-'));
  const file = path.join(dir, 'store.db');
  store = sqliteStore({ path: file });
  await store.migrate();
  const db = new Database(file);
  try {
    // i % 10: 0-5 succeeded, 6 failed, 7 released, 8 unknown, 9 in flight (lapsed when i % 20 = 9).
    // Even i are op-a@1, odd op-b@1; record i was last updated at NOW - RECORDS + i.
    db.exec(`
      WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ${RECORDS})
      INSERT INTO retrysafe_records
        (key, operation, fingerprint, state, attempt, generation, lease_owner, lease_until,
         created_at, updated_at)
      SELECT 'k' || i, CASE i % 2 WHEN 0 THEN 'op-a@1' ELSE 'op-b@1' END, 'sha256:x',
        CASE WHEN i % 10 < 6 THEN 'succeeded' WHEN i % 10 = 6 THEN 'failed' WHEN i % 10 = 7 THEN 'released'
             WHEN i % 10 = 8 THEN 'unknown' ELSE 'in_flight' END,
        1, 1,
        CASE WHEN i % 10 = 9 THEN 't' END,
        CASE WHEN i % 10 = 9 THEN (CASE WHEN i % 20 = 9 THEN ${NOW - 1} ELSE ${NOW + 60_000} END) END,
        ${NOW - RECORDS} + i, ${NOW - RECORDS} + i
      FROM n;`);
  } finally {
    db.close();
  }
}, 120_000);

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function capture(): { io: Io; out: () => string } {
  const written: string[] = [];
  const sink = { isTTY: false, write: (text: string) => written.push(text) };
  return { io: { stdout: sink, stderr: sink, env: {}, cwd: dir }, out: () => written.join('') };
}

describe('stats on a store of a million records', () => {
  it('counts every state and operation exactly, from counts, without listing a record', async () => {
    const list = vi.spyOn(store, 'list');
    const count = vi.spyOn(store, 'count');
    const stats = await storeStats(store, NOW);
    expect(stats.total).toBe(RECORDS);
    expect(stats.byState).toEqual({
      succeeded: 600_000,
      failed: 100_000,
      released: 100_000,
      unknown: 100_000,
      in_flight: 100_000,
    });
    // Even i are op-a: states 0, 2, 4 (succeeded), 6 (failed), 8 (unknown); odd are op-b.
    expect(stats.byOperation).toEqual({
      'op-a@1': { succeeded: 300_000, failed: 100_000, unknown: 100_000 },
      'op-b@1': { succeeded: 300_000, released: 100_000, in_flight: 100_000 },
    });
    expect(stats.lapsedInFlight).toBe(50_000);
    expect(stats.needingAttention).toBe(150_000);
    expect(stats.oldestUnknown).toEqual({
      key: 'k8',
      operation: 'op-a@1',
      updatedAt: NOW - RECORDS + 8,
      ageMs: RECORDS - 8,
    });
    expect(stats.oldestInFlight?.key).toBe('k9');
    expect(list).not.toHaveBeenCalled();
    expect(count).toHaveBeenCalledTimes(1);
    list.mockRestore();
    count.mockRestore();
  });

  it('the stats command answers from the same counts and never calls list', async () => {
    const list = vi.spyOn(store, 'list');
    const { io, out } = capture();
    const rs = retrysafe({ store, namespace: 'million', migrate: false });
    const exit = await statsCommand.run({
      io,
      values: {},
      positionals: [],
      json: true,
      colour: false,
      session: () => Promise.resolve({ rs, store, where: 'sqlite', close: () => Promise.resolve() }),
    });
    const body = JSON.parse(out()) as { total: number; byState: Record<string, number>; complete: boolean };
    expect(body.total).toBe(RECORDS);
    expect(body.complete).toBe(true);
    expect(body.byState['unknown']).toBe(100_000);
    expect(exit).toBe(3);
    expect(list).not.toHaveBeenCalled();
    list.mockRestore();
  });
});
