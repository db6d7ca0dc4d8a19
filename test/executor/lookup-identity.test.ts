import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  OutcomeUnknownError,
  retrysafe,
  StoreUnavailableError,
  type LookupAnswer,
  type LookupContext,
} from '../../src/index.ts';
import { postgresStore } from '../../src/stores/postgres/index.ts';
import { sqliteFixture, type Fixture } from './fixtures.ts';

interface Order {
  readonly id: number;
  readonly tenant: string;
  readonly amount: number;
}

let fx: Fixture;
let seen: { fields: unknown; scope: string | undefined; input: unknown }[];
/** What the provider's search answers next (a throw when it is an Error). */
let answer: LookupAnswer<string> | Error;

beforeEach(() => {
  fx = sqliteFixture();
  seen = [];
  answer = { status: 'unknown', reason: 'search API returned 503' };
});
afterEach(async () => {
  await fx.close();
});

/** A charge whose payload does not carry the order id: only the key fields can find the write. */
function declare(fxClient = fx.rs, lookupSettleMs = 0) {
  return fxClient.operation({
    name: 'charge',
    version: 1,
    key: (order: Order) => ({ orderId: order.id }),
    scope: (order) => order.tenant,
    payload: (order) => ({ amount: order.amount }),
    call: (): Promise<string> => Promise.reject(new Error('response lost after send')),
    lookupSettleMs,
    lookup: (_payload, context: LookupContext<Order, { orderId: number }>) => {
      seen.push({ fields: context.fields, scope: context.scope, input: context.input });
      if (answer instanceof Error) return Promise.reject(answer);
      return Promise.resolve(answer);
    },
  });
}

const order: Order = { id: 1002, tenant: 'acme', amount: 4999 };

async function leaveUnknown(): Promise<string> {
  const charge = declare();
  await expect(charge(order)).rejects.toBeInstanceOf(OutcomeUnknownError);
  return charge.keyOf(order);
}

describe('a lookup gets the logical identity', () => {
  it('from a live call: the key fields, the scope and the input, beside a payload that lacks the id', async () => {
    const key = await leaveUnknown();
    answer = { status: 'found', value: 'ch_1002' };
    const result = await declare()(order);
    expect(result).toMatchObject({ value: 'ch_1002', reconciled: true });
    expect(seen).toEqual([{ fields: { orderId: 1002 }, scope: 'acme', input: order }]);
    expect((await fx.rs.get(key))?.keyFields).toBe('{"orderId":1002}');
  });

  it('from the stored record in batch reconciliation: the same fields and scope, no input', async () => {
    const key = await leaveUnknown();
    answer = { status: 'found', value: 'ch_1002' };
    const reconciler = fx.client();
    declare(reconciler);
    const done = await reconciler.reconcile({ apply: true });
    expect(done.map((entry) => [entry.key, entry.outcome])).toEqual([[key, 'succeeded']]);
    expect(seen).toEqual([{ fields: { orderId: 1002 }, scope: 'acme', input: undefined }]);
  });
});

describe('a lookup that does not settle the record is audited, and the reason says the latest', () => {
  it('in a live call: an unknown answer, a throw and an early absent each leave an entry', async () => {
    const key = await leaveUnknown();
    const charge = declare(fx.rs, 3_600_000);

    await expect(charge(order)).rejects.toThrow(/search API returned 503/);
    expect((await fx.rs.get(key))?.reason).toBe(
      'lookup could not tell whether the write happened (search API returned 503)',
    );

    answer = new Error('connect ETIMEDOUT 10.0.0.7:443');
    const thrown = await charge(order).catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(OutcomeUnknownError);
    expect((thrown as OutcomeUnknownError).message).toContain('connect ETIMEDOUT 10.0.0.7:443');
    expect((await fx.rs.get(key))?.reason).toBe('lookup failed: connect ETIMEDOUT 10.0.0.7:443');

    answer = { status: 'absent' };
    await expect(charge(order)).rejects.toBeInstanceOf(OutcomeUnknownError);
    const record = await fx.rs.get(key);
    expect(record?.state).toBe('unknown');
    expect(record?.reason).toMatch(/^lookup found no write, but the provider may lag until /);

    const notes = (await fx.rs.audit(key)).filter((entry) => entry.event === 'still_unknown');
    expect(notes.map((entry) => [entry.actor, entry.attempt, JSON.parse(entry.detail) as unknown])).toEqual([
      [
        'reconciler',
        1,
        { action: 'lookup', answer: 'unknown', reason: expect.stringContaining('503') as unknown },
      ],
      [
        'reconciler',
        1,
        { action: 'lookup', answer: 'error', reason: 'lookup failed: connect ETIMEDOUT 10.0.0.7:443' },
      ],
      ['reconciler', 1, { action: 'lookup', answer: 'absent', reason: record?.reason }],
    ]);
  });

  it('in batch reconciliation: an unknown answer leaves an entry and the reason', async () => {
    const key = await leaveUnknown();
    const reconciler = fx.client();
    declare(reconciler);
    const done = await reconciler.reconcile({ apply: true });
    expect(done.map((entry) => entry.outcome)).toEqual(['unknown']);
    const record = await fx.rs.get(key);
    expect(record?.reason).toBe('lookup could not tell whether the write happened (search API returned 503)');
    const events = (await fx.rs.audit(key)).map((entry) => entry.event);
    expect(events).toContain('still_unknown');
  });
});

describe('errors carry their cause in the message', () => {
  it("an unreachable PostgreSQL says the driver's own words", async () => {
    const store = postgresStore({ connectionString: 'postgres://postgres@127.0.0.1:5999/test' });
    try {
      const rs = retrysafe({ store, namespace: 'test' });
      const op = rs.operation({
        name: 'op',
        version: 1,
        key: (n: number) => n,
        call: () => Promise.resolve(1),
      });
      const error = await op(1).catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toContain('connect ECONNREFUSED 127.0.0.1:5999');
    } finally {
      await store.close();
    }
  });

  it("an AggregateError contributes each error's message once", () => {
    const cause = new AggregateError([
      new Error('connect ECONNREFUSED ::1:5999'),
      new Error('connect ECONNREFUSED ::1:5999'),
    ]);
    expect(new StoreUnavailableError('store failed', cause).message).toBe(
      'store failed: connect ECONNREFUSED ::1:5999',
    );
  });
});
