import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutcomeUnknownError } from '../../src/index.ts';
import { REPLAYED_HEADER, retrysafeInterceptor } from '../../src/integrations/undici.ts';
import { mollie } from '../../src/providers/index.ts';
import { sqliteFixture, type Fixture } from '../executor/fixtures.ts';
import { dialects } from '../providers/dialects.ts';
import { startFakeProvider, type FakeProvider } from '../providers/fake-provider.ts';

let fx: Fixture;
let server: FakeProvider;
let agents: Agent[];
beforeEach(async () => {
  fx = sqliteFixture();
  const facts = dialects['mollie']?.facts;
  if (facts === undefined) throw new Error('no mollie dialect');
  server = await startFakeProvider(facts);
  agents = [];
});
afterEach(async () => {
  for (const agent of agents) await agent.close();
  await server.close();
  await fx.close();
});

function dispatcher(withRetry: boolean, rs = fx.rs, resendAttempts = 0): Dispatcher {
  const agent = new Agent();
  agents.push(agent);
  const safe = retrysafeInterceptor({
    rs,
    name: 'create-payment',
    version: 1,
    profile: mollie,
    origin: server.url,
    headers: { authorization: 'Bearer test_local' },
    inProgressDelaysMs: [5],
    resendAttempts,
  });
  return withRetry
    ? agent.compose(
        interceptors.retry({ methods: ['POST'], maxRetries: 2, minTimeout: 5, timeoutFactor: 1 }),
        safe,
      )
    : agent.compose(safe);
}

const payment = JSON.stringify({
  amount: { currency: 'EUR', value: '5.00' },
  description: 'order 1',
  metadata: { order: '1' },
});

async function pay(d: Dispatcher, order: number) {
  const options = {
    dispatcher: d,
    method: 'POST',
    body: payment,
    headers: { 'content-type': 'application/json' },
    retrysafe: { key: { order } },
  };
  const res = await request(`${server.url}/v2/payments`, options as Parameters<typeof request>[1]);
  return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as { id: string } };
}

const posts = () => server.requests.filter((r) => r.method === 'POST');

describe('the undici interceptor', () => {
  it('puts the provider key in the header, keeps credentials out of the store, replays from the store', async () => {
    const d = dispatcher(false);
    const first = await pay(d, 1);
    expect(first.status).toBe(201);
    expect(posts()[0]?.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(posts()[0]?.headers['authorization']).toBe('Bearer test_local');
    const again = await pay(d, 1);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers[REPLAYED_HEADER]).toBe('true');
    expect(posts()).toHaveLength(1);
    const [record] = await fx.rs.list({ operation: 'create-payment@1' });
    expect(record?.request).toContain('"method":"POST"');
    expect(record?.request).not.toContain('test_local');
  });

  it('inside undici retry interceptor: a lost answer is retried with the same key and Mollie replays it', async () => {
    server.dropAnswers(1);
    const result = await pay(dispatcher(true), 2);
    expect(result.status).toBe(201);
    expect(result.headers['idempotent-replayed']).toBe('true');
    expect(server.resources).toHaveLength(1);
    expect(new Set(posts().map((r) => r.headers['idempotency-key'])).size).toBe(1);
  });

  it('without retries a lost answer is unknown; a later run re-sends under the same key: one payment', async () => {
    server.dropAnswers(1);
    await expect(pay(dispatcher(false), 3)).rejects.toBeInstanceOf(OutcomeUnknownError);
    const later = await pay(dispatcher(false, fx.client()), 3);
    expect(later.body.id).toBe(server.resources[0]?.id);
    expect(server.resources).toHaveLength(1);
    expect(new Set(posts().map((r) => r.headers['idempotency-key'])).size).toBe(1);
  });

  it('with re-sends inside the call, a lost answer is re-sent under the same key in the same call', async () => {
    server.dropAnswers(1);
    const result = await pay(dispatcher(false, fx.rs, 2), 4);
    expect(result.body.id).toBe(server.resources[0]?.id);
    expect(server.resources).toHaveLength(1);
    expect(posts()).toHaveLength(2);
    expect(new Set(posts().map((r) => r.headers['idempotency-key'])).size).toBe(1);
  });

  it('requests without the retrysafe option pass through untouched', async () => {
    const res = await request(`${server.url}/v2/payments`, { dispatcher: dispatcher(false) });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(await fx.rs.list({})).toHaveLength(0);
  });
});
