import { setTimeout as sleep } from 'node:timers/promises';
import Stripe from 'stripe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OperationFailedError, OutcomeUnknownError, type RetrySafe } from '../../src/index.ts';
import { stripeOperation } from '../../src/integrations/stripe.ts';
import { stripe as stripeProfile, DAY, HOUR } from '../../src/providers/index.ts';
import { sqliteFixture, type Fixture } from '../executor/fixtures.ts';
import { dialects } from '../providers/dialects.ts';
import { startFakeProvider, type FakeProvider } from '../providers/fake-provider.ts';

interface Order {
  readonly id: number;
  readonly amount: number;
}

let fx: Fixture;
let server: FakeProvider;
beforeEach(async () => {
  fx = sqliteFixture();
  const facts = dialects['stripe']?.facts;
  if (facts === undefined) throw new Error('no stripe dialect');
  server = await startFakeProvider(facts);
});
afterEach(async () => {
  await server.close();
  await fx.close();
});

/** The official SDK, unmodified, pointed at the local Stripe-like server. */
function sdk(): Stripe {
  const port = Number(new URL(server.url).port);
  return new Stripe('sk_test_local', { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 1 });
}

function chargeOp(rs: RetrySafe, profile = stripeProfile, name = 'charge-order') {
  const client = sdk();
  return stripeOperation(rs, {
    name,
    version: 1,
    resource: client.charges,
    key: (order: Order) => ({ orderId: order.id }),
    params: (order) => ({
      amount: order.amount,
      currency: 'eur',
      source: 'tok_visa',
      metadata: { order: String(order.id) },
    }),
    profile,
    inProgressDelaysMs: [5, 5, 5],
  });
}

const charges = () => server.resources.length;
const posts = () => server.requests.filter((r) => r.method === 'POST');

describe('the official stripe SDK through retrysafe', () => {
  it('sends the provider key as the idempotency key and marks it in metadata', async () => {
    const charge = chargeOp(fx.rs);
    const result = await charge({ id: 1, amount: 500 });
    expect(result.value.idempotentReplayed).toBe(false);
    expect(posts()[0]?.headers['idempotency-key']).toBe(result.providerKey);
    expect(server.resources[0]?.fields['metadata']).toEqual({
      order: '1',
      retrysafe_key: result.providerKey,
    });
  });

  it('lost answers are re-sent under the same key inside the same call: one charge, marked replayed', async () => {
    // The charge happens; its answer and the SDK's own retry's answer are lost. Within Stripe's
    // retention the same call re-sends under the same key, and Stripe replays the charge.
    server.dropAnswers(2);
    const result = await chargeOp(fx.rs)({ id: 2, amount: 500 });
    expect(result.attempt).toBe(2);
    expect(result.value.idempotentReplayed).toBe(true);
    expect(result.replayed).toBe(true); // follows Idempotent-Replayed
    expect(result.value.object).toMatchObject({ id: server.resources[0]?.id });
    expect(charges()).toBe(1);
    expect(new Set(posts().map((r) => r.headers['idempotency-key'])).size).toBe(1);
  });

  it('after Stripe forgot the key, reconciliation finds the charge by search and does not re-send', async () => {
    server.dropAnswers(2);
    const forgetful = { ...stripeProfile, retention: { floorMs: 1, countsFrom: 'first-request' as const } };
    await expect(chargeOp(fx.rs, forgetful)({ id: 3, amount: 500 })).rejects.toBeInstanceOf(
      OutcomeUnknownError,
    );
    server.advance(DAY + HOUR); // the key is pruned, the search index has caught up
    await sleep(5); // past the client's scaled 1 ms retention
    const sent = posts().length;

    const later = await chargeOp(fx.client(), forgetful)({ id: 3, amount: 500 });
    expect(later.reconciled).toBe(true);
    expect(later.value.object).toMatchObject({ id: server.resources[0]?.id });
    expect(posts()).toHaveLength(sent); // no re-send
    expect(charges()).toBe(1);
  });

  it('a payload mismatch answer is a failure, never retried', async () => {
    // Two logical operations forced onto one provider key: Stripe sees the key with other parameters.
    const shared = { ...stripeProfile, derive: () => '7f0cbb0e-2f43-5d6a-9a4e-5b7a7f1f7a11' };
    await chargeOp(fx.rs, shared)({ id: 4, amount: 500 });
    const before = posts().length;
    const error: unknown = await chargeOp(fx.rs, shared)({ id: 5, amount: 900 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperationFailedError);
    expect(posts().length - before).toBe(1); // the SDK does not retry a 400, and neither does retrysafe
    const record = await fx.rs.get(chargeOp(fx.rs).keyOf({ id: 5, amount: 900 }));
    expect(record?.state).toBe('failed');
    expect(charges()).toBe(1);
  });

  it('an in-progress answer is retried with the same key until the first request answers', async () => {
    const shared = { ...stripeProfile, derive: () => '0b5f6d38-5f7a-5c1e-8d1e-3c7d2c9e4a10' };
    server.fault('hold');
    const first = chargeOp(fx.rs, shared)({ id: 6, amount: 500 });
    await until(() => posts().length === 1);
    // Another run sends the same provider key and parameters while the first still runs at Stripe (our
    // own store would make a second run of the same operation wait, so it is declared under another name).
    const second = chargeOp(fx.client(), shared, 'charge-order-again')({ id: 6, amount: 500 });
    await until(() => posts().length >= 3); // answered 409 idempotency_key_in_use at least twice
    server.release();
    const [a, b] = await Promise.all([first, second]);
    expect(b.value.object).toMatchObject({ id: (a.value.object as { id: string }).id });
    expect(charges()).toBe(1);
    expect(new Set(posts().map((r) => r.headers['idempotency-key']))).toEqual(new Set([shared.derive()]));
  });

  it('a burned key (a replayed 500) leads to a lookup, never to a new key', async () => {
    server.fault('error-after-effect'); // the charge happens, Stripe saves and replays a 500
    const charge = chargeOp(fx.rs);
    await expect(charge({ id: 7, amount: 500 })).rejects.toBeInstanceOf(OutcomeUnknownError);
    // Within retention the request is re-sent; Stripe replays the 500; the search index lags: still unknown.
    await expect(charge({ id: 7, amount: 500 })).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect(server.requests.some((r) => r.url.pathname === '/v1/charges/search')).toBe(true);
    server.advance(HOUR); // the search index catches up
    const found = await charge({ id: 7, amount: 500 });
    expect(found.value.object).toMatchObject({ id: server.resources[0]?.id });
    expect(charges()).toBe(1);
    expect(new Set(posts().map((r) => r.headers['idempotency-key'])).size).toBe(1);
  });
});

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await sleep(10);
  if (!condition()) throw new Error('condition not reached');
}
