import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  InFlightError,
  LeaseLostError,
  OutcomeUnknownError,
  retrysafe,
  TombstoneReplayError,
  type Clock,
  type RetrySafe,
  type Store,
} from '../../src/index.ts';
import { sqliteStore } from '../../src/stores/sqlite/index.ts';

const HOUR = 3_600_000;

/** A clock a test moves by hand, shared by the store and the client as docs/testing.md says. */
let now: number;
const clock: Clock = { now: () => now };
let store: Store;
let rs: RetrySafe;

beforeEach(() => {
  now = Date.UTC(2026, 0, 1);
  store = sqliteStore({ path: ':memory:', clock });
  rs = retrysafe({ store, namespace: 'test', clock });
});
afterEach(async () => {
  await store.close();
});

describe('an injected clock moves time without sleeping', () => {
  it('expires a result after its TTL and the key after its tombstone', async () => {
    let charges = 0;
    const charge = rs.operation({
      name: 'charge',
      version: 1,
      key: (orderId: number) => ({ orderId }),
      ttlMs: HOUR,
      tombstoneMs: HOUR,
      call: () => Promise.resolve(++charges),
    });
    expect((await charge(1)).value).toBe(1);
    now += HOUR - 1;
    expect(await charge(1)).toMatchObject({ value: 1, replayed: true });

    now += 1; // the TTL is over: the result is gone, the tombstone still recognises the key
    await expect(charge(1)).rejects.toBeInstanceOf(TombstoneReplayError);
    expect(await rs.gc()).toEqual({ compacted: 1, deleted: 0 });

    now += HOUR; // the tombstone is over too: the key means a new write
    expect(await charge(1)).toMatchObject({ value: 2, replayed: false });
    expect(charges).toBe(2);
  });

  it('lets a second caller take over an attempt whose lease lapsed', async () => {
    const other = retrysafe({ store, namespace: 'test', clock });
    let finish = (): void => undefined;
    const declare = (client: RetrySafe, call: () => Promise<string>) =>
      client.operation({
        name: 'charge',
        version: 1,
        key: (orderId: number) => ({ orderId }),
        leaseMs: 30_000,
        waitMs: 0,
        call,
        lookup: () => Promise.resolve({ status: 'found' as const, value: 'ch_found' }),
      });
    // The first caller's call hangs (a process that stopped, as far as the lease can tell).
    const hangs = (): Promise<string> =>
      new Promise((resolve) => {
        finish = () => {
          resolve('ch_late');
        };
      });
    const hung = declare(rs, hangs)(1);
    const taker = declare(other, () => Promise.resolve('ch_second'));
    await waitForInFlight();
    await expect(taker(1)).rejects.toBeInstanceOf(InFlightError);

    now += 30_000; // the lease lapsed: the outcome is unknown, and the lookup establishes it
    expect(await taker(1)).toMatchObject({ value: 'ch_found', reconciled: true });

    finish();
    await expect(hung).rejects.toBeInstanceOf(LeaseLostError);
    const [record] = await rs.list({});
    expect(record).toMatchObject({ state: 'succeeded', attempt: 1 });
    const events = (await rs.audit(record?.key ?? '')).map((entry) => entry.event);
    expect(events).toContain('late_write');
  });

  it('trusts a lookup that found nothing only after the settle delay, on the client clock', async () => {
    const charge = rs.operation({
      name: 'charge',
      version: 1,
      key: (orderId: number) => ({ orderId }),
      lookupSettleMs: 60_000,
      call: (): Promise<string> => Promise.reject(new Error('response lost after send')),
      lookup: () => Promise.resolve({ status: 'absent' as const }),
    });
    await expect(charge(1)).rejects.toBeInstanceOf(OutcomeUnknownError);

    const [early] = await rs.reconcile({ apply: true });
    expect(early?.outcome).toBe('unknown');
    now += 60_000;
    const [settled] = await rs.reconcile({ apply: true });
    expect(settled?.outcome).toBe('released');
  });

  it('refuses a clock that is not one, and a reading that is not whole milliseconds', async () => {
    expect(() => retrysafe({ store, namespace: 'test', clock: {} as Clock })).toThrow(ConfigurationError);
    expect(() => sqliteStore({ path: ':memory:', clock: null as unknown as Clock })).toThrow(
      ConfigurationError,
    );
    now = 1.5;
    const charge = rs.operation({
      name: 'charge',
      version: 1,
      key: (orderId: number) => ({ orderId }),
      call: () => Promise.resolve('ch'),
    });
    await expect(charge(1)).rejects.toThrow(/whole milliseconds/);
  });
});

async function waitForInFlight(): Promise<void> {
  await expect.poll(async () => (await store.list({ states: ['in_flight'] })).length).toBe(1);
}
