import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../../src/errors/errors.ts';
import { decide, reservedRecord } from '../../src/machine/decide.ts';
import type { IdempotencyRecord } from '../../src/machine/record.ts';
import { postgresStore } from '../../src/stores/postgres/index.ts';
import type { PostgresStore } from '../../src/stores/postgres/store.ts';
import { runStoreContract } from '../../src/testing/index.ts';
import { serviceGate } from '../helpers/services.ts';
import {
  done,
  HOUR_MS,
  keys,
  pgFixture,
  POSTGRES_URL,
  request,
  reserve,
  serverNow,
} from './postgres-fixture.ts';

const available = await serviceGate('PostgreSQL', 5432);

describe.runIf(available)('PostgreSQL store', () => {
  const { db, schema } = pgFixture();

  runStoreContract({
    name: 'postgres',
    runner: { describe, it, beforeAll, afterAll },
    create: () => Promise.resolve(postgresStore({ pool: db(), schema: schema() })),
  });

  describe('prepared statements', () => {
    it('prepares each transition once per connection, and can be told not to', async () => {
      const single = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
      const prepared = postgresStore({ pool: single, schema: schema('_prep') });
      const unprepared = postgresStore({ pool: single, schema: schema('_prep'), preparedStatements: false });
      const named = async (): Promise<string[]> =>
        (
          await single.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name')
        ).rows.map((row) => row.name);
      try {
        await prepared.migrate();
        const key = keys('prepared');
        await unprepared.begin(request(key('a')));
        expect(await named()).toEqual([]);
        expect((await prepared.settle(await reserve(prepared, key('b')), done)).ok).toBe(true);
        const names = await named();
        expect(names.length).toBeGreaterThanOrEqual(2);
        expect(names.every((name) => name.startsWith('retrysafe_'))).toBe(true);
        expect((await prepared.settle(await reserve(prepared, key('c')), done)).ok).toBe(true);
        expect(await named()).toEqual(names);
      } finally {
        await prepared.close();
        await unprepared.close();
        await single.end();
      }
    });
  });

  describe('PostgreSQL specifics', () => {
    let store: PostgresStore;
    beforeAll(async () => {
      store = postgresStore({ pool: db(), schema: schema() });
      await store.migrate();
    });
    afterAll(async () => {
      await store.close();
    });

    it('cannot hold an in-flight record without a lease end (the contract checks those on the others)', async () => {
      const key = keys('no-lease-end')();
      await reserve(store, key);
      await expect(
        db().query(`UPDATE "${schema()}".retrysafe_records SET lease_until = NULL WHERE key = $1`, [key]),
      ).rejects.toThrow(/check constraint/);
      expect((await store.get(key))?.leaseUntil).not.toBeNull();
    });

    it('begin reserves exactly where decide says reserve, and writes what reservedRecord says', async () => {
      const key = keys('decide');
      const base = await serverNow(db());
      const at = (offset: number | null): number | null => (offset === null ? null : base + offset);
      const cases: { before: IdempotencyRecord; incoming: { fingerprint: string; retryFailed: boolean } }[] =
        [];
      const lifetimes = [null, -HOUR_MS, HOUR_MS];
      for (const state of ['in_flight', 'unknown', 'succeeded', 'failed', 'released'] as const) {
        const settledState = state !== 'in_flight' && state !== 'unknown';
        for (const lease of state === 'in_flight' ? [-HOUR_MS, HOUR_MS] : [null])
          for (const expires of settledState ? lifetimes : [null])
            for (const tombstone of settledState ? lifetimes : [null])
              for (const [override, overrideAttempt] of [
                [null, null],
                ['sha256:bb', 3],
                ['sha256:bb', 2],
                ['sha256:cc', 3],
              ] as const)
                for (const fingerprint of ['sha256:aa', 'sha256:bb'])
                  for (const retryFailed of [false, true]) {
                    const before: IdempotencyRecord = {
                      key: key(String(cases.length)),
                      operation: 'old-op@1',
                      fingerprint: 'sha256:aa',
                      state,
                      attempt: 3,
                      generation: 2,
                      leaseOwner: lease === null ? null : 'holder',
                      leaseUntil: at(lease),
                      result: settledState ? '{"value":"old"}' : null,
                      request: '{"old":true}',
                      keyFields: null,
                      providerRef: settledState ? 'ref_old' : null,
                      reason: 'why',
                      overrideFingerprint: override,
                      keyEvidence: null,
                      overrideAttempt,
                      createdAt: base - 2 * HOUR_MS,
                      updatedAt: base - HOUR_MS,
                      expiresAt: at(expires),
                      tombstoneUntil: at(tombstone),
                    };
                    cases.push({ before, incoming: { fingerprint, retryFailed } });
                  }
      }
      const rows = cases.map(({ before: r }) => ({
        ...Object.fromEntries(
          Object.entries(r).map(([field, value]) => [
            field.replaceAll(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
            value,
          ]),
        ),
        last_event: 'settled',
      }));
      const table = store.names.records;
      await db().query(
        `INSERT INTO ${table} SELECT * FROM json_populate_recordset(NULL::${table}, $1::json)`,
        [JSON.stringify(rows)],
      );

      const kinds = new Set<string>();
      for (let i = 0; i < cases.length; i += 8) {
        await Promise.all(
          cases.slice(i, i + 8).map(async ({ before, incoming }) => {
            const input = request(before.key, { operation: 'new-op@1', ...incoming, leaseMs: 30_000 });
            const begun = await store.begin(input);
            const now = begun.reserved ? begun.record.updatedAt : begun.now;
            const decision = decide(before, incoming, now);
            kinds.add(decision.kind + (decision.kind === 'reserve' && decision.override ? '+override' : ''));
            expect(begun.reserved, `${JSON.stringify({ before, incoming })} -> ${decision.kind}`).toBe(
              decision.kind === 'reserve',
            );
            if (begun.reserved && decision.kind === 'reserve') {
              expect(begun.record).toEqual(reservedRecord(before, decision, input, now));
              const events = (await store.audit(before.key)).map((entry) => entry.event);
              expect(events).toEqual(decision.override ? ['override_used'] : []);
            } else if (!begun.reserved) {
              expect(begun.record).toEqual(before);
            }
          }),
        );
      }
      expect([...kinds].sort()).toEqual(
        ['mismatch', 'reconcile', 'replay', 'reserve', 'reserve+override', 'tombstone', 'wait'].sort(),
      );
    });

    it('leases and times come from the server clock: a client clock minutes off changes nothing', async () => {
      const key = keys('skew');
      const realNow = Date.now.bind(Date);
      for (const skew of [10 * 60_000, -10 * 60_000]) {
        const spy = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + skew);
        try {
          const before = await serverNow(db());
          const begun = await store.begin(request(key(String(skew)), { leaseMs: 45_000 }));
          const after = await serverNow(db());
          if (!begun.reserved) throw new Error('expected to reserve');
          const { lease, record } = begun;
          expect(lease.leaseUntil - record.updatedAt).toBe(45_000);
          expect(record.updatedAt).toBeGreaterThanOrEqual(before);
          expect(record.updatedAt).toBeLessThanOrEqual(after);

          const renewed = await store.heartbeat(lease, 90_000);
          if (!renewed.ok) throw new Error('expected the heartbeat to apply');
          expect((renewed.record.leaseUntil ?? 0) - renewed.record.updatedAt).toBe(90_000);
          const seen = await store.begin(request(key(String(skew))));
          expect(seen.reserved).toBe(false);
          if (!seen.reserved) expect(seen.now).toBeGreaterThanOrEqual(after);

          // A client clock ahead would call the lease lapsed; the store, on its own clock, does not.
          if (skew > 0 && !seen.reserved) {
            expect(
              decide(seen.record, { fingerprint: 'sha256:aa', retryFailed: false }, Date.now()).kind,
            ).toBe('reconcile');
          }
          expect((await store.markUnknown(lease.key, lease.attempt, 'skewed')).ok).toBe(false);
          const reclaimed = await store.reclaim({
            key: lease.key,
            attempt: lease.attempt,
            token: randomUUID(),
            leaseMs: 1,
            reason: 'skewed',
          });
          expect(reclaimed.ok).toBe(false);
        } finally {
          spy.mockRestore();
        }
      }
    });

    it('a practically endless TTL or tombstone is capped where a JavaScript number is still exact', async () => {
      const key = keys('forever');
      const lease = await reserve(store, key());
      const forever = { ...done, ttlMs: Number.MAX_SAFE_INTEGER, tombstoneMs: Number.MAX_SAFE_INTEGER };
      const settled = await store.settle(lease, forever);
      expect(settled.ok && settled.record.tombstoneUntil).toBe(Number.MAX_SAFE_INTEGER);
      expect(await store.get(key())).toMatchObject({
        expiresAt: Number.MAX_SAFE_INTEGER,
        tombstoneUntil: Number.MAX_SAFE_INTEGER,
      });
    });

    it('answers a replay, a wait and a mismatch without locking the row (nothing to write, no WAL flush)', async () => {
      const key = keys('unlocked');
      const table = store.names.records;
      // xmax is set by any row lock or update; the settle's own update leaves it 0 once committed.
      const xmax = async (k: string): Promise<string> =>
        (await db().query<{ xmax: string }>(`SELECT xmax::text FROM ${table} WHERE key = $1`, [k])).rows[0]
          ?.xmax ?? 'missing';
      expect((await store.settle(await reserve(store, key('done')), done)).ok).toBe(true);
      await reserve(store, key('busy'));
      const before = { done: await xmax(key('done')), busy: await xmax(key('busy')) };
      for (const [k, fingerprint, kind] of [
        [key('done'), 'sha256:aa', 'replay'],
        [key('done'), 'sha256:bb', 'mismatch'],
        [key('busy'), 'sha256:aa', 'wait'],
      ] as const) {
        const begun = await store.begin(request(k, { fingerprint }));
        if (begun.reserved) throw new Error(`expected ${kind}, got a reservation`);
        expect(decide(begun.record, { fingerprint, retryFailed: false }, begun.now).kind).toBe(kind);
      }
      expect({ done: await xmax(key('done')), busy: await xmax(key('busy')) }).toEqual(before);
      // A reservable row is still decided under its lock: a released key reserves its next attempt.
      const released = await store.settle(await reserve(store, key('released')), {
        ...done,
        state: 'released',
      });
      expect(released.ok).toBe(true);
      const again = await store.begin(request(key('released')));
      expect(again.reserved && again.lease.attempt).toBe(2);
    });

    it('the audit log refuses UPDATE, DELETE and TRUNCATE', async () => {
      const key = keys('audit');
      const lease = await reserve(store, key());
      await store.settle(lease, done);
      // A second settlement is refused and logged as a late write.
      await store.settle(lease, done);
      const table = store.names.audit;
      await expect(
        db().query(`UPDATE ${table} SET actor = 'mallory' WHERE key = $1`, [key()]),
      ).rejects.toThrow(/append-only/);
      await expect(db().query(`DELETE FROM ${table} WHERE key = $1`, [key()])).rejects.toThrow(/append-only/);
      await expect(db().query(`TRUNCATE ${table}`)).rejects.toThrow(/append-only/);
      expect((await store.audit(key())).map((entry) => [entry.event, entry.actor])).toEqual([
        ['late_write', 'executor'],
      ]);
    });

    it('a connection string gives the store its own pool, ended by close; a passed pool stays open', async () => {
      const app = `rs-owned-${randomUUID().slice(0, 8)}`;
      const owned = postgresStore({
        connectionString: `${POSTGRES_URL}?application_name=${app}`,
        schema: schema(),
        max: 2,
      });
      await owned.migrate();
      const key = keys('owned');
      await reserve(owned, key());
      expect((await store.get(key()))?.state).toBe('in_flight');
      await owned.close();
      await expect(owned.get(key())).rejects.toThrow(/closed/);
      for (;;) {
        const { rows } = await db().query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [
          app,
        ]);
        if (rows.length === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }

      const borrowing = postgresStore({ pool: db(), schema: schema() });
      await borrowing.close();
      expect((await db().query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });

    it('rejects schema and prefix names that are not plain identifiers, and ambiguous pools', () => {
      for (const bad of ['Public', 'a-b', 'x"; DROP TABLE y; --', '', 'pg_mine', '1abc']) {
        expect(() => postgresStore({ pool: db(), schema: bad })).toThrow(ConfigurationError);
      }
      for (const bad of ['Retry', 'a b', 'x"', '9_']) {
        expect(() => postgresStore({ pool: db(), tablePrefix: bad })).toThrow(ConfigurationError);
      }
      expect(() => postgresStore({} as never)).toThrow(ConfigurationError);
      expect(() => postgresStore({ pool: db(), connectionString: POSTGRES_URL } as never)).toThrow(
        ConfigurationError,
      );
      expect(() => postgresStore({ pool: db(), pollIntervalMs: 0 })).toThrow(ConfigurationError);
    });
  });
});
