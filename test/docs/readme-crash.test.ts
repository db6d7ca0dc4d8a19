import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retrysafe } from '../../src/index.ts';
import type { IdempotencyRecord } from '../../src/machine/record.ts';
import { sqliteStore } from '../../src/stores/sqlite/index.ts';
import { allBlocks, exampleProject, runBlock } from './example-project.ts';
import { FakePaymentsApi } from './payments-api.ts';

/**
 * The bar: the README's example, extracted from README.md as it stands, run as its own process
 * against a payments API that ignores idempotency keys, killed with SIGKILL after the provider charged
 * and before the job could record it, then run again: one charge, and the record says succeeded.
 */
const example = allBlocks().find((block) => block.file === 'README.md' && block.mode === 'run');

async function recordsIn(dir: string): Promise<IdempotencyRecord[]> {
  const store = sqliteStore({ path: join(dir, 'retrysafe.db') });
  try {
    return await retrysafe({ store, namespace: 'billing' }).list();
  } finally {
    await store.close();
  }
}

describe('the README example, killed between the charge and its record', () => {
  const api = new FakePaymentsApi();
  let url = '';
  let dir = '';

  beforeAll(async () => {
    url = await api.start();
  });
  afterAll(async () => {
    await api.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('charges once when run again', async () => {
    if (example === undefined) throw new Error('README.md has no block marked <!-- example: run -->');
    dir = exampleProject('readme-crash', [example]);
    const env = { PAYMENTS_URL: url, DUE_ORDERS: JSON.stringify([{ id: 1002, amount: 4999 }]) };

    // Run 1: the provider charges and holds its answer; the job is killed while it waits for it.
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const charged = api.holdNextCharge(released);
    let pid: number | undefined;
    const crashed = runBlock(example, dir, env, (spawned) => (pid = spawned));
    await charged;
    if (pid === undefined) throw new Error('the job was charged before it was seen to start');
    process.kill(pid, 'SIGKILL');
    const killed = await crashed;
    release();
    expect(killed.signal, killed.output).toBe('SIGKILL');
    expect(api.charges).toHaveLength(1);
    const [left] = await recordsIn(dir);
    // The crash came between the call and the record: the record still holds the attempt's lease.
    expect(left).toMatchObject({ state: 'in_flight', attempt: 1 });

    // Run 2: waits out the dead attempt's lease, asks the provider (the lookup) and finds the charge,
    // which it reports as made before (a reconciled result is not a new write).
    const rerun = await runBlock(example, dir, env);
    expect({ code: rerun.code, signal: rerun.signal }, rerun.output).toEqual({ code: 0, signal: null });
    expect(rerun.output).toContain('order 1002: ch_1 (charged before)');
    // Run 3: a plain replay from the record.
    const replay = await runBlock(example, dir, env);
    expect(replay.code, replay.output).toBe(0);
    expect(replay.output).toContain('order 1002: ch_1 (charged before)');

    expect(api.charges).toEqual([{ id: 'ch_1', orderId: 1002, amount: 4999 }]);
    expect(api.posts).toBe(1);
    const [settled] = await recordsIn(dir);
    // Settled as attempt 1's outcome: the lookup found that attempt's charge; no attempt 2 was sent.
    expect(settled).toMatchObject({ state: 'succeeded', attempt: 1 });
    expect(JSON.parse(settled?.result ?? 'null')).toEqual({
      value: { id: 'ch_1', orderId: 1002, amount: 4999 },
    });
  }, 180_000);
});
