import { randomUUID } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channels, retrysafe, type RetrySafe } from '../../src/index.ts';
import { postgresStore } from '../../src/stores/postgres/index.ts';
import type { PostgresStore } from '../../src/stores/postgres/store.ts';
import type { PgQueryConfig } from '../../src/stores/postgres/driver.ts';
import { serviceGate } from '../helpers/services.ts';
import { done, keys, pgFixture, POSTGRES_URL, reserve } from './postgres-fixture.ts';

const available = await serviceGate('PostgreSQL', 5432);

/** Waiters woken by LISTEN/NOTIFY, the shared listening connection, and the polling fallback. */
describe.runIf(available)('PostgreSQL store: waiting for a key', () => {
  const { db, schema } = pgFixture();
  let store: PostgresStore;
  beforeAll(async () => {
    store = postgresStore({ pool: db(), schema: schema() });
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
  });

  it('a waiter is woken by NOTIFY, long before its poll interval', { timeout: 20_000 }, async () => {
    const key = keys('notify');
    const waiting = postgresStore({ pool: db(), schema: schema(), pollIntervalMs: 600_000 });
    try {
      // The first wait opens the listener, and returns once LISTEN is in place (changes made before
      // it could not be heard). From here on only a notification can end a 10-minute wait.
      await waiting.waitForChange(key('warm-up'), 600_000);
      const a = await reserve(store, key('a'));
      const b = await reserve(store, key('b'));
      let aWoken = false;
      const waitA = waiting.waitForChange(key('a'), 600_000).then(() => {
        aWoken = true;
      });
      const waitB = waiting.waitForChange(key('b'), 600_000);
      expect((await store.settle(b, done)).ok).toBe(true);
      await waitB;
      // Notifications arrive in commit order: b's was handled, and it did not wake a's waiter.
      expect(aWoken).toBe(false);
      expect((await store.settle(a, done)).ok).toBe(true);
      await waitA;
      expect(aWoken).toBe(true);
    } finally {
      await waiting.close();
    }
  });

  it('through the executor: a caller on another pool waits for the holder and replays', async () => {
    const otherPool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
    const stores = [
      postgresStore({ pool: db(), schema: schema() }),
      postgresStore({ pool: otherPool, schema: schema() }),
    ];
    const namespace = `pg-${randomUUID().slice(0, 8)}`;
    let calls = 0;
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const define = (rs: RetrySafe) =>
      rs.operation<{ id: number }, { charge: string }>({
        name: 'charge',
        version: 1,
        key: (order) => ({ id: order.id }),
        payload: (order) => ({ id: order.id }),
        call: async (order) => {
          calls++;
          await gate;
          return { charge: `ch_${order.id}` };
        },
      });
    const [chargeA, chargeB] = stores.map((s) => define(retrysafe({ store: s, namespace })));
    const seen = (channel: typeof channels.wait) =>
      new Promise<void>((resolve) => {
        const listener = (message: unknown): void => {
          if (!String((message as { key?: unknown }).key).includes(namespace)) return;
          diagnostics.unsubscribe(channel.name, listener);
          resolve();
        };
        diagnostics.subscribe(channel.name, listener);
      });
    try {
      const reserved = seen(channels.reserve);
      const first = chargeA?.({ id: 7 });
      // Raced with the call itself, so that a failing store fails the test instead of hanging it.
      await Promise.race([reserved, first]);
      const waiting = seen(channels.wait);
      const second = chargeB?.({ id: 7 });
      await Promise.race([waiting, second]);
      release();
      const results = await Promise.all([first, second]);
      expect(calls).toBe(1);
      expect(results.map((r) => [r?.value.charge, r?.replayed])).toEqual([
        ['ch_7', false],
        ['ch_7', true],
      ]);
    } finally {
      release();
      for (const s of stores) await s.close();
      await otherPool.end();
    }
  });

  it('the listener reconnects after its connection is killed', { timeout: 20_000 }, async () => {
    const key = keys('reconnect');
    const app = `rs-listener-${randomUUID().slice(0, 8)}`;
    const own = new pg.Pool({ connectionString: POSTGRES_URL, max: 2, application_name: app });
    const waiting = postgresStore({ pool: own, schema: schema(), pollIntervalMs: 600_000 });
    try {
      await waiting.waitForChange(key('warm-up'), 600_000);
      const orphan = waiting.waitForChange(key('x'), 600_000);
      const killed = await db().query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = $1 AND query LIKE 'LISTEN %'`,
        [app],
      );
      expect(killed.rowCount).toBe(1);
      // A dropped listener may have missed notifications: its waiters are woken to read again.
      await orphan;
      await waiting.waitForChange(key('warm-up-again'), 600_000);
      const lease = await reserve(store, key('y'));
      const woken = waiting.waitForChange(key('y'), 600_000);
      await store.settle(lease, done);
      await woken;
    } finally {
      await waiting.close();
      await own.end();
    }
  });

  it('without a listening connection a waiter falls back to polling', async () => {
    // A pool-compatible object that runs queries but cannot lend a connection: no LISTEN is possible.
    const queriesOnly = {
      query: (text: string | PgQueryConfig, values?: unknown[]) =>
        typeof text === 'string' ? db().query(text, values) : db().query(text),
      connect: () => Promise.reject(new Error('no connections to lend')),
      end: () => Promise.resolve(),
      on: () => undefined,
    };
    const polling = postgresStore({ pool: queriesOnly, schema: schema(), pollIntervalMs: 20 });
    try {
      const key = keys('polling');
      await reserve(polling, key());
      // Resolves (after the poll interval) instead of hanging for the 10-minute timeout or failing.
      await expect(polling.waitForChange(key(), 600_000)).resolves.toBeUndefined();
      expect(await polling.get(key())).toMatchObject({ state: 'in_flight' });
    } finally {
      await polling.close();
    }
  });
});
