import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  InFlightError,
  InvalidKeyInputError,
  PayloadMismatchError,
  StoreUnavailableError,
  WaitTimeoutError,
  type CallContext,
} from '../../src/index.ts';
import { failing, sqliteFixture, type Fixture } from './fixtures.ts';

interface Order {
  readonly id: number;
  readonly amount: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let fx: Fixture;
let calls: CallContext[];

beforeEach(() => {
  fx = sqliteFixture();
  calls = [];
});
afterEach(async () => {
  await fx.close();
});

function chargeOp(
  rs = fx.rs,
  overrides: Partial<
    Parameters<typeof fx.rs.operation<Order, { chargeId: string }, { orderId: number; amount: number }>>[0]
  > = {},
) {
  return rs.operation<Order, { chargeId: string }, { orderId: number; amount: number }>({
    name: 'charge-order',
    version: 1,
    key: (order) => ({ orderId: order.id }),
    payload: (order) => ({ orderId: order.id, amount: order.amount }),
    call: (order, ctx) => {
      calls.push(ctx);
      return Promise.resolve({ chargeId: `ch_${order.id}_${ctx.attempt}` });
    },
    providerRef: (charge) => charge.chargeId,
    ...overrides,
  });
}

describe('executor: the happy path and replays', () => {
  it('performs once and replays the stored result', async () => {
    const charge = chargeOp();
    const first = await charge({ id: 1, amount: 100 });
    const second = await charge({ id: 1, amount: 100 });
    expect(first).toMatchObject({
      value: { chargeId: 'ch_1_1' },
      replayed: false,
      attempt: 1,
      generation: 1,
    });
    expect(second).toMatchObject({ value: { chargeId: 'ch_1_1' }, replayed: true, attempt: 1 });
    expect(first.providerKey).toBe(second.providerKey);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.providerKey).toBe(first.providerKey);
    const record = await fx.rs.get(first.key);
    expect(record).toMatchObject({ state: 'succeeded', providerRef: 'ch_1_1', operation: 'charge-order@1' });
  });

  it('shares one call among concurrent callers in the same process', async () => {
    const charge = chargeOp(fx.rs, {
      call: async (order, ctx) => {
        calls.push(ctx);
        await sleep(30);
        return { chargeId: `ch_${order.id}` };
      },
    });
    const results = await Promise.all(Array.from({ length: 10 }, () => charge({ id: 2, amount: 5 })));
    expect(calls).toHaveLength(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(new Set(results.map((r) => r.value.chargeId))).toEqual(new Set(['ch_2']));
  });

  it('waits for an in-flight owner in another client and returns its result', async () => {
    const other = fx.client();
    const slow = chargeOp(fx.rs, {
      call: async (order, ctx) => {
        calls.push(ctx);
        await sleep(150);
        return { chargeId: `slow_${order.id}` };
      },
    });
    const owner = slow({ id: 3, amount: 1 });
    await sleep(20);
    const waiter = await chargeOp(other)({ id: 3, amount: 1 });
    expect(waiter).toMatchObject({ value: { chargeId: 'slow_3' }, replayed: true });
    expect((await owner).replayed).toBe(false);
    expect(calls).toHaveLength(1);
  });

  it('bounds the wait: WaitTimeout after waitMs, InFlight at once with waitMs 0', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const owner = chargeOp(fx.rs, {
      call: async () => {
        await held;
        return { chargeId: 'late' };
      },
    })({ id: 4, amount: 1 });
    await sleep(20);
    await expect(chargeOp(fx.client(), { waitMs: 60 })({ id: 4, amount: 1 })).rejects.toBeInstanceOf(
      WaitTimeoutError,
    );
    const immediate = chargeOp(fx.client(), { waitMs: 0 })({ id: 4, amount: 1 });
    await expect(immediate).rejects.toBeInstanceOf(InFlightError);
    await expect(immediate).rejects.not.toBeInstanceOf(WaitTimeoutError);
    release();
    await owner;
  });
});

describe('executor: conflicts and bad input change nothing', () => {
  it('rejects a different payload under the same key before any call', async () => {
    const charge = chargeOp();
    await charge({ id: 5, amount: 100 });
    const error = await charge({ id: 5, amount: 999 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadMismatchError);
    expect((error as PayloadMismatchError).record?.state).toBe('succeeded');
    expect(calls).toHaveLength(1);
  });

  it.each([
    [
      'a cyclic key',
      () => {
        const o: Record<string, unknown> = {};
        o['self'] = o;
        return { key: o, payload: 1 };
      },
    ],
    ['NaN in the payload', () => ({ key: 1, payload: { amount: Number.NaN } })],
    ['undefined in the payload', () => ({ key: 1, payload: { amount: undefined } })],
    ['a bigint key', () => ({ key: 10n, payload: 1 })],
    ['an oversized key', () => ({ key: 'x'.repeat(5000), payload: 1 })],
    ['a Date payload', () => ({ key: 1, payload: new Date(0) })],
  ])('refuses %s with InvalidKeyInput and writes nothing', async (_name, make) => {
    const { key, payload } = make();
    const op = fx.rs.operation<null, string, unknown>({
      name: 'bad-input',
      version: 1,
      key: () => key,
      payload: () => payload,
      call: () => {
        calls.push({} as CallContext);
        return Promise.resolve('done');
      },
    });
    await expect(op(null)).rejects.toBeInstanceOf(InvalidKeyInputError);
    expect(calls).toHaveLength(0);
    expect(await fx.rs.list({})).toEqual([]);
  });

  it('turns a throwing key function into InvalidKeyInput', async () => {
    const op = chargeOp(fx.rs, { key: (order) => ({ id: (order as unknown as { a: { b: number } }).a.b }) });
    await expect(op({ id: 1, amount: 1 })).rejects.toBeInstanceOf(InvalidKeyInputError);
    expect(calls).toHaveLength(0);
  });

  it('refuses impossible declarations with ConfigurationError', () => {
    expect(() => chargeOp(fx.rs, { name: 'Bad Name' })).toThrow(ConfigurationError);
    expect(() => chargeOp(fx.rs, { version: 0 })).toThrow(ConfigurationError);
    expect(() => chargeOp(fx.rs, { ttlMs: 1000, retryWindowMs: 5000 })).toThrow(/retryWindowMs \(5000\)/);
    expect(() => chargeOp(fx.rs, { leaseMs: -1 })).toThrow(ConfigurationError);
  });
});

describe('executor: the store is unreachable', () => {
  it('fails closed: no call without a reservation', async () => {
    const broken = failing(fx.store, ['begin']);
    const { retrysafe } = await import('../../src/index.ts');
    const op = chargeOp(retrysafe({ store: broken, namespace: 'test' }));
    const error = await op({ id: 6, amount: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(/nothing was sent/);
    expect(calls).toHaveLength(0);
  });

  it('fails closed when migration cannot run', async () => {
    const broken = failing(fx.store, ['migrate']);
    const { retrysafe } = await import('../../src/index.ts');
    await expect(
      chargeOp(retrysafe({ store: broken, namespace: 'test' }))({ id: 7, amount: 1 }),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(calls).toHaveLength(0);
  });
});

describe('executor: the store goes away during the call', () => {
  it('a call aborted because the lease could not be renewed is unknown, never read as not performed', async () => {
    // The keeper gives the lease up when the store stops answering; its LeaseLostError carries the
    // driver's ECONNREFUSED, which the default classifier reads as "never sent" if asked to classify it.
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    let down = false;
    const store = new Proxy(fx.store, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        if (down && (property === 'heartbeat' || property === 'settle')) return () => Promise.reject(refused);
        return (value as (...args: unknown[]) => unknown).bind(target);
      },
    });
    const { retrysafe, OutcomeUnknownError, LeaseLostError } = await import('../../src/index.ts');
    const op = chargeOp(retrysafe({ store, namespace: 'test' }), {
      leaseMs: 60,
      call: (_order, ctx) => {
        calls.push(ctx);
        down = true;
        // Like fetch: the request was sent; the abort rejects with the signal's reason.
        return new Promise((_resolve, reject) => {
          ctx.signal.addEventListener(
            'abort',
            () => {
              reject(ctx.signal.reason as Error);
            },
            { once: true },
          );
        });
      },
    });
    const error = await op({ id: 8, amount: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutcomeUnknownError);
    expect(error).not.toBeInstanceOf(LeaseLostError);
    down = false;
    // Nothing released the key: the record waits for reconciliation.
    const key = calls[0]?.key ?? '';
    expect((await fx.store.get(key))?.state).toBe('in_flight');
    expect(calls).toHaveLength(1);
  });
});
