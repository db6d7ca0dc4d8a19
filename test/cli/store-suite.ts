import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OutcomeUnknownError,
  providerKey,
  retrysafe,
  type AuditEntry,
  type IdempotencyRecord,
  type OverrideRequest,
} from '../../src/index.ts';
import type { Store } from '../../src/stores/types.ts';
import { cli, ensureBuilt, json, seed, type Seeded } from './support.ts';

export interface StoreUnderTest {
  readonly name: string;
  /** The `--store` address of a fresh, empty store for this file. */
  readonly address: () => string;
  /** Extra arguments every command gets (e.g. `--allow-volatile`). */
  readonly extraArgs?: readonly string[];
  /** A library-side store on the same data, for seeding. */
  readonly open: () => Promise<Store>;
  readonly cleanup: () => Promise<void>;
}

/**
 * Every store command through the built bin, in a child process, against one store: output, `--json`
 * shape and exit codes, the requester refused as approver, and an audit entry for every resolve and
 * override step.
 */
export function storeCommandSuite(target: StoreUnderTest): void {
  describe(`retrysafe CLI on ${target.name}`, () => {
    let store: Store;
    let keys: Seeded;
    let tmp: string;
    let address: string;
    const run = (...args: string[]) => cli(['--store', address, ...(target.extraArgs ?? []), ...args]);

    beforeAll(async () => {
      await ensureBuilt();
      tmp = mkdtempSync(path.join(tmpdir(), 'retrysafe-cli-'));
      address = target.address();
      const migrated = await run('migrate', '--json');
      expect(migrated.code, migrated.stderr).toBe(0);
      expect(json(migrated)).toMatchObject({ migrated: true });
      store = await target.open();
      keys = (await seed(store, target.name)).keys;
    });

    afterAll(async () => {
      await store.close();
      await target.cleanup();
      rmSync(tmp, { recursive: true, force: true });
    });

    it('ls lists every record and exits 3 because some outcomes are unknown', async () => {
      const ran = await run('ls');
      expect(ran.code).toBe(3);
      for (const key of Object.values(keys)) expect(ran.stdout).toContain(key);
      expect(ran.stdout).toMatch(/^KEY\s+OPERATION\s+STATE\s+ATTEMPT/);
      expect(ran.stdout).toContain('in_flight (lapsed)');
      expect(ran.stdout).not.toContain('\u001b[');
    });

    it('ls filters by state, operation and age, with a --json shape', async () => {
      const succeeded = await run('ls', '--state', 'succeeded', '--json');
      expect(succeeded.code).toBe(0);
      const body = json<{ count: number; unknown: number; records: IdempotencyRecord[] }>(succeeded);
      expect(body.records.map((r) => r.key)).toEqual([keys.succeeded]);
      expect(body).toMatchObject({ count: 1, unknown: 0 });

      const open = json<{ records: IdempotencyRecord[] }>(
        await run('ls', '--state', 'unknown,in_flight', '--json'),
      );
      expect(open.records.map((r) => r.key).sort()).toEqual([keys.unknown, keys.lapsed].sort());

      const otherOperation = await run('ls', '--operation', 'nothing@1', '--json');
      expect(json<{ count: number }>(otherOperation).count).toBe(0);
      expect(otherOperation.code).toBe(0);

      const old = await run('ls', '--older-than', '1d', '--json');
      expect(json<{ count: number }>(old).count).toBe(0);

      const bad = await run('ls', '--state', 'done');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--state must be one of');
    });

    it('key computes the key of a business id: the one the record is stored under, and its provider key', async () => {
      const fieldsJson = JSON.stringify({ id: `${target.name}-ok` });
      const ran = await run('key', '--namespace', 'clitest', '--operation', 'charge@1', fieldsJson, '--json');
      expect(ran.code, ran.stderr).toBe(0);
      expect(json<{ key: string; providerKey: string }>(ran)).toEqual({
        key: keys.succeeded,
        providerKey: providerKey(keys.succeeded, 1),
        generation: 1,
      });
      expect((await run('key', '--namespace', 'clitest', '--operation', 'charge', fieldsJson)).code).toBe(2);
      expect((await run('key', '--namespace', 'clitest', '--operation', 'charge@1', '{nope')).code).toBe(2);
    });

    it('show prints the record and its audit trail; an unknown key exits 1', async () => {
      const ran = await run('show', keys.succeeded);
      expect(ran.code).toBe(0);
      expect(ran.stdout).toContain('succeeded');
      expect(ran.stdout).toContain(`ch_${target.name}-ok`);
      // The routine path is not logged: the record is its trail.
      expect(ran.stdout).toContain('audit trail\n(none)');
      // What an operator searches the provider by: the request as stored, the provider key, the reference.
      expect(ran.stdout).toMatch(new RegExp(`request\\s+\\{"amount":100,"id":"${target.name}-ok"\\}`));
      expect(ran.stdout).toMatch(/provider key\s+[0-9a-f-]{36} \(default derivation/);
      expect(ran.stdout).toMatch(new RegExp(`provider ref\\s+ch_${target.name}-ok`));
      expect(ran.stdout).toMatch(new RegExp(`key fields\\s+\\{"id":"${target.name}-ok"\\}`));
      const body = json<{
        record: IdempotencyRecord;
        providerKey: unknown;
        audit: AuditEntry[];
        overrides: OverrideRequest[];
      }>(await run('show', keys.succeeded, '--json'));
      expect(body.record.state).toBe('succeeded');
      expect(body.providerKey).toEqual({ providerKey: providerKey(keys.succeeded, 1), derivedBy: 'default' });
      expect(body.audit).toEqual([]);
      expect(body.overrides).toEqual([]);

      const missing = await run('show', 'rs1:clitest:nothing@1:-:00', '--json');
      expect(missing.code).toBe(1);
      expect(json<{ error: { code: string } }>(missing).error.code).toBe('NOT_FOUND');
    });

    it('stats counts per state and operation and reports the oldest unknown and in-flight', async () => {
      const ran = await run('stats', '--json');
      expect(ran.code).toBe(3);
      const body = json<{
        total: number;
        byState: Record<string, number>;
        byOperation: Record<string, Record<string, number>>;
        lapsedInFlight: number;
        oldestUnknown: { key: string; ageMs: number } | null;
        oldestInFlight: { key: string } | null;
      }>(ran);
      expect(body.byState).toMatchObject({ succeeded: 1, failed: 1, unknown: 1, in_flight: 1, released: 0 });
      expect(body.byOperation['charge@1']).toMatchObject({
        succeeded: 1,
        failed: 1,
        unknown: 1,
        in_flight: 1,
      });
      expect(body.total).toBe(4);
      expect(body.lapsedInFlight).toBe(1);
      expect(body.oldestUnknown?.key).toBe(keys.unknown);
      expect(body.oldestUnknown?.ageMs).toBeGreaterThanOrEqual(0);
      expect(body.oldestInFlight?.key).toBe(keys.lapsed);
      const human = await run('stats');
      expect(human.stdout).toMatch(/^OPERATION\s+IN_FLIGHT\s+UNKNOWN\s+SUCCEEDED/);
      expect(human.stdout).toContain('oldest unknown');
    });

    it('reconcile plans without changing anything; without the operations declared, everything is manual', async () => {
      const ran = await run('reconcile', '--json');
      expect(ran.code).toBe(3);
      const body = json<{ mode: string; entries: { key: string; action: string }[] }>(ran);
      expect(body.mode).toBe('plan');
      expect(body.entries.map((e) => e.key).sort()).toEqual([keys.unknown, keys.lapsed].sort());
      expect(body.entries.every((e) => e.action === 'manual')).toBe(true);
      expect((await store.get(keys.unknown))?.state).toBe('unknown');
    });

    it('resolve refuses bad usage (2) and a record that is not unknown (1)', async () => {
      const both = await run(
        'resolve',
        keys.unknown,
        '--succeeded',
        '--failed',
        '--by',
        'ann',
        '--reason',
        'x',
      );
      expect(both.code).toBe(2);
      const noReason = await run('resolve', keys.unknown, '--failed', '--by', 'ann');
      expect(noReason.code).toBe(2);
      const badJson = await run(
        'resolve',
        keys.unknown,
        '--succeeded',
        '--result',
        '{',
        '--by',
        'a',
        '--reason',
        'r',
      );
      expect(badJson.code).toBe(2);
      const settled = await run(
        'resolve',
        keys.succeeded,
        '--failed',
        '--by',
        'ann',
        '--reason',
        'x',
        '--json',
      );
      expect(settled.code).toBe(1);
      expect(json<{ error: { code: string } }>(settled).error.code).toBe('RS_RESOLVE_REFUSED');
    });

    it('resolve settles the unknown record and the lapsed one, each with an audit entry naming who and why', async () => {
      const ran = await run(
        'resolve',
        keys.unknown,
        '--succeeded',
        '--ref',
        'ch_found',
        '--result',
        '{"chargeId":"ch_found"}',
        '--by',
        'ann@example.com',
        '--reason',
        'found in the provider dashboard',
        '--json',
      );
      expect(ran.code, ran.stderr).toBe(0);
      const { record } = json<{ record: IdempotencyRecord }>(ran);
      expect(record).toMatchObject({ state: 'succeeded', providerRef: 'ch_found' });
      expect(JSON.parse(record.result ?? 'null')).toEqual({ value: { chargeId: 'ch_found' } });

      // Not performed on one person's word: refused; it takes a request and a second person.
      const notPerformed = [
        'resolve',
        keys.lapsed,
        '--not-performed',
        '--by',
        'bob',
        '--reason',
        'never sent',
      ];
      const alone = await run(...notPerformed, '--json');
      expect(alone.code).toBe(1);
      expect(json<{ error: { code: string } }>(alone).error.code).toBe('RS_RESOLVE_REFUSED');
      const requested = await run(...notPerformed, '--request', '--json');
      expect(requested.code, requested.stderr).toBe(0);
      const { request } = json<{ request: { id: string; requestedBy: string } }>(requested);
      expect(request.requestedBy).toBe('bob');
      const self = await run('resolve', keys.lapsed, '--approve', request.id, '--by', ' Bob ', '--json');
      expect(self.code).toBe(1);
      expect(json<{ error: { code: string } }>(self).error.code).toBe('RS_RESOLVE_REFUSED');
      const lapsed = await run('resolve', keys.lapsed, '--approve', request.id, '--by', 'carol');
      expect(lapsed.code, lapsed.stderr).toBe(0);
      expect(lapsed.stdout).toContain('released');

      for (const [key, actor, reason] of [
        [keys.unknown, 'ann@example.com', 'found in the provider dashboard'],
        [keys.lapsed, 'carol', 'never sent'],
      ] as const) {
        const resolved = (await store.audit(key)).filter((e) => e.event === 'resolved');
        expect(resolved).toHaveLength(1);
        expect(resolved[0]?.actor).toBe(actor);
        expect(resolved[0]?.detail).toContain(reason);
      }
      const after = await run('stats', '--json');
      expect(after.code).toBe(0);
    });

    it('resolve --not-performed --new-generation: the approval starts a new generation, the next attempt a new provider key', async () => {
      // An unknown outcome with no lookup: it stays unknown until a person says what happened.
      const rs = retrysafe({ store, namespace: 'clitest' });
      const sent: string[] = [];
      const charge = rs.operation<string, string>({
        name: 'rekey',
        version: 1,
        key: (order) => ({ order }),
        call: (_order, ctx) => {
          sent.push(ctx.providerKey);
          return sent.length === 1 ? Promise.reject(new Error('socket hang up')) : Promise.resolve('charged');
        },
      });
      const order = `${target.name}-burned`;
      await expect(charge(order)).rejects.toBeInstanceOf(OutcomeUnknownError);
      const key = charge.keyOf(order);
      const reason = 'no charge in the dashboard; the key replays its stored 500';
      const args = ['resolve', key, '--not-performed', '--new-generation', '--by', 'ann', '--reason', reason];

      const wrongState = await run(
        'resolve',
        key,
        '--failed',
        '--new-generation',
        '--by',
        'ann',
        '--reason',
        'r',
      );
      expect(wrongState.code).toBe(2);
      expect(wrongState.stderr).toContain('--new-generation goes with --not-performed only');

      const requested = await run(...args, '--request');
      expect(requested.code, requested.stderr).toBe(0);
      expect(requested.stdout).toContain('new generation');
      const listed = await rs.resolutionRequests(key);
      expect(listed.map((request) => request.newGeneration)).toEqual([true]);
      const approved = await run('resolve', key, '--approve', listed[0]?.id ?? '', '--by', 'bob', '--json');
      expect(approved.code, approved.stderr).toBe(0);
      expect(json<{ record: IdempotencyRecord }>(approved).record).toMatchObject({
        state: 'released',
        generation: 2,
      });

      const done = await charge(order);
      expect(done).toMatchObject({ value: 'charged', generation: 2 });
      expect(sent).toHaveLength(2);
      expect(sent[1]).not.toBe(sent[0]);
      const rekeyed = (await store.audit(key)).filter((entry) => entry.event === 'rekeyed');
      expect(rekeyed.map((entry) => entry.actor)).toEqual(['bob']);
      expect(JSON.parse(rekeyed[0]?.detail ?? '{}')).toMatchObject({
        reason,
        fromGeneration: 1,
        toGeneration: 2,
        evidence: { requestedBy: 'ann', reason },
      });
    });

    it('override: request, approval by the requester refused, approval by another, each audited', async () => {
      const payload = path.join(tmp, 'payload.json');
      writeFileSync(payload, JSON.stringify({ id: `${target.name}-ok`, amount: 250 }));
      const requested = await run(
        'override',
        'request',
        keys.succeeded,
        '--payload',
        payload,
        '--by',
        'carol',
        '--reason',
        'amount corrected',
        '--json',
      );
      expect(requested.code, requested.stderr).toBe(0);
      const { override } = json<{ override: OverrideRequest }>(requested);
      expect(override).toMatchObject({ key: keys.succeeded, status: 'pending', requestedBy: 'carol' });

      expect(override.payload).toBe(`{"amount":250,"id":"${target.name}-ok"}`);
      for (const spelling of ['carol', ' Carol ', 'CAROL']) {
        const refused = await run('override', 'approve', override.id, '--by', spelling, '--json');
        expect(refused.code).toBe(1);
      }
      const self = await run('override', 'approve', override.id, '--by', 'carol', '--json');
      expect(self.code).toBe(1);
      expect(json<{ error: { code: string } }>(self).error.code).toBe('RS_OVERRIDE_REFUSED');

      const listed = json<{ overrides: OverrideRequest[] }>(
        await run('override', 'ls', '--status', 'pending', '--json'),
      );
      expect(listed.overrides.map((o) => o.id)).toEqual([override.id]);

      const approved = await run('override', 'approve', override.id, '--by', 'dave');
      expect(approved.code, approved.stderr).toBe(0);
      expect(approved.stdout).toContain('approved');

      const same = path.join(tmp, 'same.json');
      writeFileSync(same, JSON.stringify({ amount: 100, id: `${target.name}-ok` }));
      const sameRequest = await run(
        'override',
        'request',
        keys.succeeded,
        '--payload',
        same,
        '--by',
        'x',
        '--reason',
        'y',
      );
      expect(sameRequest.code).toBe(1);

      const events = (await store.audit(keys.succeeded)).map((e) => [e.event, e.actor]);
      expect(events).toEqual(
        expect.arrayContaining([
          ['override_requested', 'carol'],
          ['override_approved', 'dave'],
        ]),
      );
      const shown = await run('show', keys.succeeded);
      expect(shown.stdout).toContain('override requests');
      expect(shown.stdout).toContain('dave');
      // The approver sees what will be sent, with both fingerprints.
      const canonical = `{"amount":250,"id":"${target.name}-ok"}`;
      const current = (await store.get(keys.succeeded))?.fingerprint ?? 'missing';
      for (const printed of [shown.stdout, (await run('override', 'ls', '--key', keys.succeeded)).stdout]) {
        expect(printed).toContain(canonical);
        expect(printed).toContain(override.fingerprint);
        expect(printed).toContain(current);
        expect(printed).toMatch(/current fingerprint/);
        expect(printed).toMatch(/proposed fingerprint/);
      }
    });

    it('gc reports its summary', async () => {
      const ran = await run('gc', '--batch-size', '10', '--json');
      expect(ran.code, ran.stderr).toBe(0);
      expect(json(ran)).toEqual({ compacted: 0, deleted: 0 });
      const human = await run('gc');
      expect(human.stdout).toContain('compacted');
    });
  });
}
