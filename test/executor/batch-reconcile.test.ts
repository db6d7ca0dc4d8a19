import diagnostics from 'node:diagnostics_channel';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  fingerprint,
  OutcomeUnknownError,
  type LookupAnswer,
  type OperationDefinition,
  type RetrySafe,
} from '../../src/index.ts';
import { sqliteFixture, type Fixture } from './fixtures.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Charge {
  readonly order: number;
  readonly cents: number;
}
type Def = OperationDefinition<number, string, Charge>;

let fx: Fixture;
let sent: { payload: Charge; providerKey: string; attempt: number }[];
/** What the provider's lookup answers, per order. */
let ledger: Map<number, LookupAnswer<string>>;

beforeEach(() => {
  fx = sqliteFixture();
  sent = [];
  ledger = new Map();
});
afterEach(async () => {
  await fx.close();
});

/** The same operation as an automation and as an operator's reconciler would declare it. */
function declare(rs: RetrySafe, more: Partial<Def> = {}) {
  return rs.operation<number, string, Charge>({
    name: 'charge',
    version: 1,
    key: (order) => ({ order }),
    payload: (order) => ({ order, cents: order * 100 }),
    call: (order, ctx) => {
      sent.push({
        payload: { order, cents: order * 100 },
        providerKey: ctx.providerKey,
        attempt: ctx.attempt,
      });
      return Promise.reject(new Error('response lost after send'));
    },
    lookup: (payload) => Promise.resolve(ledger.get(payload.order) ?? { status: 'unknown' }),
    ...more,
  });
}

async function unknownFor(
  rs: RetrySafe,
  orders: readonly number[],
  more: Partial<Def> = {},
): Promise<string[]> {
  const op = declare(rs, more);
  for (const order of orders) await expect(op(order)).rejects.toBeInstanceOf(OutcomeUnknownError);
  return orders.map((order) => op.keyOf(order));
}

describe('batch reconciliation', () => {
  it('plans without changing anything, then applies lookups from the stored request', async () => {
    const keys = await unknownFor(fx.rs, [1, 2, 3]);
    ledger.set(1, { status: 'found', value: 'ch_1', providerRef: 'ch_1' });
    ledger.set(2, { status: 'absent' });

    const operator = fx.client();
    const lookedUp: Charge[] = [];
    declare(operator, {
      lookup: (payload) => {
        lookedUp.push(payload);
        return Promise.resolve(ledger.get(payload.order) ?? { status: 'unknown' });
      },
    });
    const before = await Promise.all(keys.map((key) => fx.rs.get(key)));
    const plan = await operator.reconcile();
    expect(plan.map((e) => [e.key, e.action, e.outcome])).toEqual(
      keys.map((key) => [key, 'lookup', undefined]),
    );
    expect(await Promise.all(keys.map((key) => fx.rs.get(key)))).toEqual(before);
    expect(lookedUp).toEqual([]);

    const progress: number[] = [];
    const applied = await operator.reconcile({ apply: true, onProgress: (done) => progress.push(done) });
    expect(applied.map((e) => e.outcome)).toEqual(['succeeded', 'released', 'unknown']);
    expect(progress).toEqual([1, 2, 3]);
    // The lookup got the payload that was sent, read back from the record: no input needed.
    expect(lookedUp).toEqual([
      { order: 1, cents: 100 },
      { order: 2, cents: 200 },
      { order: 3, cents: 300 },
    ]);

    const states = await Promise.all(keys.map(async (key) => (await fx.rs.get(key))?.state));
    expect(states).toEqual(['succeeded', 'released', 'unknown']);
    const trail = await fx.rs.audit(keys[0] ?? '');
    expect(trail.at(-1)).toMatchObject({ event: 'resolved', actor: 'reconciler' });

    // The automation's next run: order 1 replays the found charge, order 2 is performed (attempt 2).
    const automation = declare(fx.rs, {
      call: (order, ctx) => Promise.resolve(`new_${order}_${ctx.attempt}`),
    });
    expect(await automation(1)).toMatchObject({ value: 'ch_1', replayed: true });
    expect(await automation(2)).toMatchObject({ value: 'new_2_2', replayed: false });
    await expect(automation(3)).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect(sent.map((s) => s.payload.order)).toEqual([1, 2, 3]);
  });

  it('plans what it cannot do as wait or manual, and skips those when applying', async () => {
    const [stored] = await unknownFor(fx.rs, [10]);
    const [unstored] = await unknownFor(fx.rs, [11], { name: 'charge-private', storeRequest: false });
    const live = declare(fx.rs, { name: 'charge-live' }).keyOf(12);
    await fx.store.begin({
      key: live,
      operation: 'charge-live@1',
      fingerprint: fingerprint({ order: 12, cents: 1200 }),
      retryFailed: false,
      token: 'live-holder',
      leaseMs: 60_000,
    });
    const operator = fx.client();
    declare(operator, { name: 'charge-private', storeRequest: false });
    declare(operator, { name: 'charge-live' });
    const plan = await operator.reconcile({ apply: true });
    const byKey = new Map(plan.map((e) => [e.key, e]));
    expect(byKey.get(stored ?? '')).toMatchObject({ action: 'manual', outcome: 'skipped' }); // charge@1 not declared
    expect(byKey.get(unstored ?? '')).toMatchObject({ action: 'manual', outcome: 'skipped' });
    expect(byKey.get(unstored ?? '')?.reason).toMatch(/no stored request/);
    expect(byKey.get(live)).toMatchObject({ action: 'wait', outcome: 'skipped', state: 'in_flight' });
  });

  it('marks a lapsed lease unknown before asking, and touches only records still unknown', async () => {
    const op = declare(fx.rs, { leaseMs: 30 });
    const lapsed = op.keyOf(20);
    await fx.store.migrate();
    await fx.store.begin({
      key: lapsed,
      operation: 'charge@1',
      fingerprint: fingerprint({ order: 20, cents: 2000 }),
      retryFailed: false,
      token: 'vanished',
      leaseMs: 30,
      request: JSON.stringify({ cents: 2000, order: 20 }),
    });
    const [resolvedMeanwhile] = await unknownFor(fx.rs, [21]);
    ledger.set(20, { status: 'found', value: 'ch_20' });
    ledger.set(21, { status: 'found', value: 'ch_21' });
    await sleep(50);

    const operator = fx.client();
    declare(operator);
    const plan = await operator.reconcile();
    expect(plan.map((e) => e.action)).toEqual(['lookup', 'lookup']);
    // Someone resolves one record between plan and apply: apply must not overwrite it.
    await fx.rs.resolve(resolvedMeanwhile ?? '', {
      state: 'failed',
      providerRef: 're_21',
      by: 'alice',
      reason: 'refunded by hand',
    });
    // Marking the lapsed attempt is announced like on the in-process path.
    const announced: unknown[] = [];
    const listen = (message: unknown): void => {
      announced.push(message);
    };
    diagnostics.subscribe('retrysafe:unknown', listen);
    const applied = await operator
      .reconcile({ keys: plan.map((e) => e.key), apply: true })
      .finally(() => diagnostics.unsubscribe('retrysafe:unknown', listen));
    expect(applied.map((e) => e.outcome)).toEqual(['succeeded']);
    expect(announced).toEqual([expect.objectContaining({ key: lapsed, attempt: 1 })]);
    expect((await fx.rs.audit(lapsed)).map((e) => e.event)).toEqual(['marked_unknown', 'resolved']);
    expect((await fx.rs.get(resolvedMeanwhile ?? ''))?.state).toBe('failed');
  });

  it('re-sends the stored request under the same provider key while the provider remembers it', async () => {
    const resent: { payload: Charge; providerKey: string }[] = [];
    const [key] = await unknownFor(fx.rs, [30], { resendWithinMs: 60_000 });
    const operator = fx.client();
    declare(operator, {
      resendWithinMs: 60_000,
      resend: (payload, ctx) => {
        resent.push({ payload, providerKey: ctx.providerKey });
        return Promise.resolve('replayed-by-provider');
      },
    });
    const [entry] = await operator.reconcile({ apply: true });
    expect(entry).toMatchObject({ key, action: 'resend', outcome: 'succeeded' });
    expect(resent).toEqual([{ payload: { order: 30, cents: 3000 }, providerKey: sent[0]?.providerKey }]);
    expect(await fx.rs.get(key ?? '')).toMatchObject({ state: 'succeeded', attempt: 2, generation: 1 });
  });
});
