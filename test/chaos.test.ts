import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCombination } from '../chaos/combination.ts';
import { combinations } from '../chaos/combinations.ts';
import type { StoreName } from '../chaos/impls/types.ts';
import { chargeBody, searchCharges } from '../chaos/provider/call.ts';
import { KeyedRequests } from '../chaos/provider/keyed.ts';
import { PROVIDER_MODES, STRICT_MODES, TIME_SCALE, type ProviderMode } from '../chaos/provider/modes.ts';
import { resendWithinMs } from '../src/providers/index.ts';
import { startProvider } from '../chaos/provider/process.ts';
import type { Ledger } from '../chaos/provider/protocol.ts';
import { FAILOVER_RUNS_DIR, longRunFile, readLongRuns, renderReport } from '../chaos/report.ts';
import type { Fault } from '../chaos/scenario.ts';

/**
 * Short fixed-seed chaos runs of retrysafe on every store: kill -9 at the four points, a frozen holder
 * past its lease, provider faults, concurrent duplicate triggers, late replays, worker clock skew and a
 * store server restart; once against the lenient provider and once against the strict `stripe` one
 * (stored 500s, 409 in progress, retention, a lagging lookup, requests never answered, no client
 * timeout). Any duplicate effect, lost, unresolved or stuck operation fails them. The long runs are
 * `npm run chaos`.
 */
const SEED = 20240611;
const STRIPE_SEED = 12;
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

  it(
    'performs every operation exactly once against the strict stripe provider: nothing lost, nothing stuck',
    { timeout: 180_000 },
    async () => {
      const { figures, scenario } = await runCombination({
        impl: 'retrysafe',
        store,
        ops: OPS,
        workers: 3,
        seed: STRIPE_SEED,
        providerMode: 'stripe',
      });
      expect(figures.violations).toEqual([]);
      expect(figures.duplicates).toBe(0);
      expect(figures.lost).toBe(0);
      expect(figures.unknown_unresolved).toBe(0);
      expect(figures.stuck).toBe(0);
      expect(figures.effects).toBe(OPS);
      // The schedule has what the strict provider makes hard: 500s stored before the effect (burned
      // keys) and requests never answered (only the attempt deadline ends them).
      const faults = Object.values(scenario.faults).flat();
      expect(faults).toContain('500-before-effect');
      expect(faults.some((fault) => fault.startsWith('hang-'))).toBe(true);
      expect(figures.kills).toBeGreaterThan(0);
    },
  );
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
        longRunFile('express-idempotency', 'redis', 'lenient', dir),
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
        // provider (lenient: a file saved before the modes), logical, effects, duplicates,
        // ops_with_duplicates, lost, unknown_after_run, unknown_unresolved, stuck, stale_holders,
        // late_writes_refused: figures a file lacks read n/a.
        /\| express-idempotency +\| redis +\| lenient +\| +10000 \| +10987 \| +1234 \| +n\/a \| +56 \| +n\/a \| +78 \| +n\/a \| +n\/a \| +n\/a \|/,
      );
      expect(section).toContain(`\`${command}\``);
      expect(section).toMatch(
        /Not run yet at 10,000 operations: retrysafe on sqlite \(lenient\), .*node-idempotency on redis \(lenient\), retrysafe on sqlite \(stripe\), .*retrysafe on redis \(no-native-key\)\./,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('renders the failover runs beside each other, protected and not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rs-failover-runs-'));
    try {
      for (const [store, duplicates] of [
        ['redis-replicated', 0],
        ['redis-replicated-unprotected', 40],
      ] as const) {
        await writeFile(
          longRunFile('retrysafe', store, 'lenient', dir),
          JSON.stringify({
            impl: 'retrysafe',
            store,
            logical: 300,
            effects: 300 + duplicates,
            duplicates,
            lost: 0,
            unknown_unresolved: 0,
            stuck: 0,
            duration_s: 70,
            command: `npm run chaos -- --store ${store}`,
          }),
        );
      }
      const text = await renderReport({
        rows: [],
        mix: {},
        command: 'test',
        seed: 1,
        ops: 1,
        workers: 1,
        failoverRunsDir: dir,
      });
      const section = text.slice(text.indexOf('## Failover'), text.indexOf('## Scenario mix'));
      expect(section).toMatch(
        /\| redis-replicated +\| lenient +\| +300 \| +300 \| +0 \| +0 \| +0 \| +0 \| +70 \|/,
      );
      expect(section).toMatch(
        /\| redis-replicated-unprotected +\| lenient +\| +300 \| +340 \| +40 \| +0 \| +0 \| +0 \| +70 \|/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads the committed failover runs: replicated stores, protected runs without duplicates', async () => {
    const runs = await readLongRuns(FAILOVER_RUNS_DIR);
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) {
      expect(run.store).toMatch(/^(redis|postgres)-replicated(-unprotected)?$/);
      expect(run.command).toMatch(/^npm run chaos -- .*--save-failover-run/);
      if (!run.store.endsWith('-unprotected')) {
        expect(run).toMatchObject({ duplicates: 0, lost: 0, unknown_unresolved: 0 });
        // A stuck delivery is explained on the run (a provider that never answers, before attempt deadlines).
        if ((run.stuck ?? 0) > 0) expect(run.note).toMatch(/never answer/);
      }
    }
  });

  it('reads the committed long runs: each names its combination and command', async () => {
    const runs = await readLongRuns();
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) {
      // Replicated stores (a failover mid-run) are retrysafe's alone; the rest are the report's combinations.
      if (/-replicated$/.test(run.store)) expect(run.impl).toBe('retrysafe');
      else expect(combinations('all', 'all')).toContainEqual({ impl: run.impl, store: run.store });
      expect(run.command).toMatch(/^npm run chaos -- /);
      // A strict mode's run names it on its command line; runs saved before the modes were lenient.
      const mode = run.provider ?? 'lenient';
      expect(PROVIDER_MODES).toContain(mode);
      if (mode !== 'lenient') expect(run.command).toContain(`--provider ${mode}`);
    }
  });
});

describe('chaos provider: strict modes play the reference semantics', () => {
  it('declares the re-send window a user gets from each profile: none where only successes are cached', () => {
    // A re-send to Checkout.com after an answer nobody saw (a 5xx after the effect, not cached) charges
    // again: the mode once declared the key's retention and charged an order twice (seed 7, 300 ops).
    expect(STRICT_MODES.checkout.resendWithinMs).toBe(0);
    for (const mode of Object.values(STRICT_MODES)) {
      const expected = mode.profile === null ? 0 : Math.round(resendWithinMs(mode.profile) / TIME_SCALE);
      expect(mode.resendWithinMs, mode.mode).toBe(expected);
    }
  });

  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rs-chaos-provider-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function provider(
    mode: ProviderMode,
    faults: Record<string, Fault[]>,
  ): Promise<{ url: string; ledger: () => Promise<Ledger>; stop: () => Promise<void> }> {
    const sub = await mkdtemp(join(dir, `${mode}-`));
    return startProvider(
      sub,
      { faults, mode, seed: 1, nativeKeys: false, timeoutHoldMs: 100, stopHoldMs: 10 },
      () => undefined,
    );
  }

  async function post(
    url: string,
    op: string,
    headers: Record<string, string>,
    marker: string | undefined = op,
  ): Promise<{ status: number; body: unknown; replayed: string | null }> {
    const response = await fetch(`${url}/charges`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: chargeBody(op, marker),
    });
    return {
      status: response.status,
      body: await response.json(),
      replayed: response.headers.get('idempotent-replayed'),
    };
  }

  it('stripe: a 500 before the effect is stored under the key and replayed, marked; a new key is performed', async () => {
    const p = await provider('stripe', { a: ['500-before-effect'] });
    try {
      expect(await post(p.url, 'a', { 'idempotency-key': 'k1' })).toMatchObject({
        status: 500,
        replayed: null,
      });
      expect(await post(p.url, 'a', { 'idempotency-key': 'k1' })).toMatchObject({
        status: 500,
        replayed: 'true',
      });
      expect((await p.ledger()).effects['a'] ?? 0).toBe(0);
      expect(await post(p.url, 'a', { 'idempotency-key': 'k2' })).toMatchObject({ status: 200 });
      const again = await post(p.url, 'a', { 'idempotency-key': 'k2' });
      expect(again).toMatchObject({ status: 200, replayed: 'true' });
      expect((await p.ledger()).effects['a']).toBe(1);
      // Another body under a used key: Stripe's idempotency_error, nothing performed.
      const mismatch = await post(p.url, 'a', { 'idempotency-key': 'k2' }, 'other');
      expect(mismatch.status).toBe(400);
      expect(mismatch.body).toMatchObject({ error: { type: 'idempotency_error' } });
      expect((await p.ledger()).effects['a']).toBe(1);
    } finally {
      await p.stop();
    }
  });

  it('stripe: 409 idempotency_key_in_use while the first request with the key runs', async () => {
    const p = await provider('stripe', { b: ['slow-long'] });
    try {
      // Whichever arrives first executes (slow-long holds it 400 ms before its effect); the other is refused.
      const answers = await Promise.all([
        post(p.url, 'b', { 'idempotency-key': 'k' }),
        post(p.url, 'b', { 'idempotency-key': 'k' }),
      ]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
      expect(answers.find((a) => a.status === 409)?.body).toMatchObject({
        error: { code: 'idempotency_key_in_use' },
      });
      expect((await p.ledger()).effects['b']).toBe(1);
    } finally {
      await p.stop();
    }
  });

  it('checkout: only a 2xx is kept; a 500 is attempted again under the same key', async () => {
    const p = await provider('checkout', { c: ['500-before-effect'], d: ['500-after-effect'] });
    try {
      expect((await post(p.url, 'c', { 'cko-idempotency-key': 'k' })).status).toBe(500);
      expect((await post(p.url, 'c', { 'cko-idempotency-key': 'k' })).status).toBe(200);
      expect((await post(p.url, 'c', { 'cko-idempotency-key': 'k' })).status).toBe(200);
      // A 500 after the effect is not kept either: the same key performs the write a second time.
      expect((await post(p.url, 'd', { 'cko-idempotency-key': 'k2' })).status).toBe(500);
      expect((await post(p.url, 'd', { 'cko-idempotency-key': 'k2' })).status).toBe(200);
      const { effects } = await p.ledger();
      expect(effects['c']).toBe(1);
      expect(effects['d']).toBe(2);
    } finally {
      await p.stop();
    }
  });

  it("ietf: the draft's 400 without a key, 422 for another payload, a stored 500 replayed unmarked", async () => {
    const p = await provider('ietf', { e: ['500-before-effect'] });
    try {
      expect((await post(p.url, 'e', {})).status).toBe(400);
      expect(await post(p.url, 'e', { 'idempotency-key': 'k' })).toMatchObject({ status: 500 });
      expect(await post(p.url, 'e', { 'idempotency-key': 'k' })).toMatchObject({
        status: 500,
        replayed: null,
      });
      expect((await post(p.url, 'e', { 'idempotency-key': 'k' }, 'other')).status).toBe(422);
      expect((await p.ledger()).effects['e'] ?? 0).toBe(0);
    } finally {
      await p.stop();
    }
  });

  it('no-native-key: a key is not honoured; the lookup by marker finds every write once it has settled', async () => {
    const p = await provider('no-native-key', { f: ['hang-after-effect'] });
    try {
      // Never answered: only the client's own deadline ends the request; the write happened.
      await expect(
        fetch(`${p.url}/charges`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: chargeBody('f', 'f'),
          signal: AbortSignal.timeout(300),
        }),
      ).rejects.toThrow();
      expect((await post(p.url, 'f', { 'idempotency-key': 'k' })).status).toBe(200);
      expect((await post(p.url, 'f', { 'idempotency-key': 'k' })).status).toBe(200);
      expect((await p.ledger()).effects['f']).toBe(3);
      let found = await searchCharges(p.url, 'f');
      while (found.length < 3) found = await searchCharges(p.url, 'f');
      expect(found.map((effect) => effect.op)).toEqual(['f', 'f', 'f']);
      expect(await searchCharges(p.url, 'nothing')).toEqual([]);
    } finally {
      await p.stop();
    }
  });

  it('retention ends: a key is forgotten after the compressed retention, and a request with it is new', () => {
    const mode = STRICT_MODES.stripe;
    const keyed = new KeyedRequests(mode);
    const first = keyed.admit('k', 'body', 0);
    if (first.kind !== 'execute') throw new Error('the first request executes');
    first.begin();
    first.finish({ status: 500, body: {} });
    expect(keyed.admit('k', 'body', mode.retentionMs - 1)).toMatchObject({
      kind: 'answer',
      replayed: true,
      answer: { status: 500 },
    });
    expect(keyed.admit('k', 'body', mode.retentionMs).kind).toBe('execute');
    // Stripe's 24 h, compressed, outlasts a short run's reconciliation; the lookup settles within it.
    expect(mode.retentionMs).toBe((24 * 3_600_000) / TIME_SCALE);
    expect(mode.lookupSettleMs).toBeLessThan(mode.retentionMs);
  });
});
