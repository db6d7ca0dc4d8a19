import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retrysafe } from '../../src/index.ts';
import { sqliteStore } from '../../src/stores/sqlite/index.ts';
import type { Store } from '../../src/stores/types.ts';
import { cli, ensureBuilt, json, ROOT } from './support.ts';

/**
 * `reconcile` with a config module that declares the operation and its lookup: the plan changes
 * nothing, `--apply` settles what the provider's ledger shows and releases what it does not.
 */
describe('retrysafe reconcile with --config (SQLite)', () => {
  let dir: string;
  let file: string;
  let config: string;
  let ledger: string;
  let store: Store;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    await ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'retrysafe-cli-reconcile-'));
    file = path.join(dir, 'store.db');
    ledger = path.join(dir, 'ledger.json');
    store = sqliteStore({ path: file });
    const rs = retrysafe({ store, namespace: 'shop' });
    const charge = rs.operation({
      name: 'charge',
      version: 1,
      key: (input: { id: string }) => ({ id: input.id }),
      payload: (input) => ({ id: input.id, amount: 500 }),
      call: () => Promise.reject(new Error('connection reset after sending')),
    });
    for (const id of ['landed', 'lost']) {
      await charge({ id }).catch(() => undefined);
      keys[id] = charge.keyOf({ id });
    }
    // The provider's own record of what it performed: one of the two writes happened.
    writeFileSync(ledger, JSON.stringify({ landed: { chargeId: 'ch_landed' } }));
    const dist = (sub: string) => pathToFileURL(path.join(ROOT, 'dist', sub)).href;
    config = path.join(dir, 'retrysafe.config.mjs');
    writeFileSync(
      config,
      `import { readFileSync } from 'node:fs';
       import { sqliteStore } from '${dist('stores/sqlite/index.js')}';
       export default {
         store: sqliteStore({ path: ${JSON.stringify(file)} }),
         namespace: 'shop',
         operations: [{
           name: 'charge', version: 1,
           key: (input) => ({ id: input.id }),
           payload: (input) => ({ id: input.id, amount: 500 }),
           call: () => Promise.reject(new Error('the CLI never calls')),
           lookup: async (payload) => {
             const found = JSON.parse(readFileSync(${JSON.stringify(ledger)}, 'utf8'))[payload.id];
             return found ? { status: 'found', value: found, providerRef: found.chargeId } : { status: 'absent' };
           },
         }],
       };`,
    );
  });

  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plans a lookup for each unknown record, changes nothing, and exits 3', async () => {
    const ran = await cli(['--config', config, 'reconcile']);
    expect(ran.code, ran.stderr).toBe(3);
    expect(ran.stdout).toMatch(/^KEY\s+OPERATION\s+STATE\s+ATTEMPT\s+UPDATED\s+ACTION\s+REASON/);
    expect(ran.stdout).toContain('run with --apply to act');
    const plan = json<{ mode: string; entries: { key: string; action: string }[] }>(
      await cli(['reconcile', '--config', config, '--json']),
    );
    expect(plan.mode).toBe('plan');
    expect(plan.entries.map((e) => [e.key, e.action]).sort()).toEqual(
      [
        [keys['landed'], 'lookup'],
        [keys['lost'], 'lookup'],
      ].sort(),
    );
    expect((await store.get(keys['landed'] ?? ''))?.state).toBe('unknown');
  });

  it('--operation narrows the plan', async () => {
    const none = json<{ count: number }>(
      await cli(['reconcile', '--config', config, '--operation', 'other@1', '--json']),
    );
    expect(none.count).toBe(0);
  });

  it('--apply settles the found write, releases the absent one, audits both as the reconciler, exits 0', async () => {
    const ran = await cli(['reconcile', '--config', config, '--apply', '--json']);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stderr).toBe(''); // no progress bar without a terminal
    const applied = json<{
      mode: string;
      summary: Record<string, number>;
      entries: { key: string; outcome: string }[];
    }>(ran);
    expect(applied.mode).toBe('apply');
    expect(Object.fromEntries(applied.entries.map((e) => [e.key, e.outcome]))).toEqual({
      [keys['landed'] ?? '']: 'succeeded',
      [keys['lost'] ?? '']: 'released',
    });
    expect(applied.summary).toEqual({ succeeded: 1, released: 1 });
    const landed = await store.get(keys['landed'] ?? '');
    expect(landed).toMatchObject({ state: 'succeeded', providerRef: 'ch_landed' });
    for (const key of [keys['landed'], keys['lost']]) {
      const resolved = (await store.audit(key ?? '')).filter((e) => e.event === 'resolved');
      expect(resolved.map((e) => e.actor)).toEqual(['reconciler']);
    }
    const again = await cli(['reconcile', '--config', config]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to reconcile');
  });

  it('a config file with a wrong shape is a usage error (exit 2)', async () => {
    const bad = path.join(dir, 'bad.config.mjs');
    writeFileSync(bad, 'export default { store: 42 };');
    const ran = await cli(['--config', bad, 'ls']);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toContain('`store` must be');
    const missing = await cli(['--config', path.join(dir, 'nope.mjs'), 'ls']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('does not exist');
  });
});
