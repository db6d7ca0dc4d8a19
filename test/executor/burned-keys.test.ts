import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AttemptTimeoutError, OutcomeUnknownError, retrysafe, type RetrySafe } from '../../src/index.ts';
import { idempotentFetch } from '../../src/integrations/fetch.ts';
import { stripe, type ProviderProfile } from '../../src/providers/index.ts';
import type { Store } from '../../src/stores/types.ts';
import { dialects } from '../providers/dialects.ts';
import { startFakeProvider, type FakeProvider } from '../providers/fake-provider.ts';
import { failing } from './fixtures.ts';
import { storeKinds } from './store-kinds.ts';

/**
 * Burned provider keys and attempt deadlines (SEMANTICS.md, invariants 12 and 13), end to end on every
 * store: a Stripe-like provider on 127.0.0.1 that stores every answer under its key (500s included) and
 * replays it marked `Idempotent-Replayed: true`, with a search lookup by marker; and a provider that
 * never answers.
 */

const kinds = await storeKinds('burned');

const stripeDialect = dialects['stripe'];
if (stripeDialect === undefined) throw new Error('no stripe dialect');
const stripeFacts = stripeDialect.facts;

/** Lookups settle after this (real time): an `absent` is trusted this long after the record changed. */
const SETTLE_MS = 60;

/** Stripe's profile with its search settle delay scaled down to the test. */
const quickStripe: ProviderProfile = {
  ...stripe,
  lookup: {
    settleMs: SETTLE_MS,
    find: stripe.lookup?.find ?? (() => Promise.resolve({ status: 'unknown' })),
  },
};

describe.each(kinds)('burned provider keys and deadlines on %s', (_name, make) => {
  const kind = make();
  const stores: Store[] = [];
  let fake: FakeProvider | undefined;
  let hung: Server | undefined;

  const client = (store = kind.open()): RetrySafe => {
    stores.push(store);
    return retrysafe({ store, namespace: 'burned' });
  };

  afterEach(async () => {
    await fake?.close();
    fake = undefined;
    if (hung !== undefined) {
      hung.closeAllConnections();
      const server = hung;
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      hung = undefined;
    }
  });
  afterAll(async () => {
    for (const store of stores) await store.close();
    await kind.cleanup();
  });

  const charge = (rs: RetrySafe, server: FakeProvider, name: string) => {
    const write = idempotentFetch(rs, { name, version: 1, profile: quickStripe, leaseMs: 2000 });
    return (order: number) =>
      write({
        key: { order },
        method: 'POST',
        url: `${server.url}/v1/charges`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `amount=${order}&currency=eur`,
      });
  };
  const posts = (server: FakeProvider) => server.requests.filter((r) => r.method === 'POST');
  const keysSent = (server: FakeProvider) => new Set(posts(server).map((r) => r.headers['idempotency-key']));

  it('a 500 stored under the key before the effect: charged exactly once under a new key, nothing unknown', async () => {
    const server = (fake = await startFakeProvider({ ...stripeFacts, lagMs: 0 }));
    const rs = client();
    const send = charge(rs, server, `stripe-500-${randomUUID().slice(0, 8)}`);
    server.fault('error-before-effect');

    // 1. Stripe answers 500 and stores it: the key has answered, so nothing is re-sent in the call.
    await expect(send(1)).rejects.toBeInstanceOf(OutcomeUnknownError);
    const key = (await rs.list({ states: ['unknown'] })).find((r) =>
      r.operation.startsWith('stripe-500'),
    )?.key;
    expect(await rs.get(key ?? '')).toMatchObject({
      state: 'unknown',
      generation: 1,
      keyEvidence: 'answered',
    });

    // 2. Past the settle delay the search says absent: one more try under the SAME key, which Stripe
    //    answers with its stored 500, marked as a replay: the key is burned.
    await sleep(SETTLE_MS + 20);
    await expect(send(1)).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect(keysSent(server).size).toBe(1);
    expect(await rs.get(key ?? '')).toMatchObject({ state: 'unknown', generation: 1, keyEvidence: 'burned' });

    // 3. Past the settle delay again the search still says absent: a new generation, a new key, the charge.
    await sleep(SETTLE_MS + 20);
    const done = await send(1);
    expect(done.answer.status).toBe(200);
    expect(done.generation).toBe(2);
    expect(server.resources).toHaveLength(1);
    expect(keysSent(server).size).toBe(2);
    expect(done.providerKey).toBe(posts(server).at(-1)?.headers['idempotency-key']);

    // Nothing unknown is left, a replay returns the charge, and the rekey is audited with its evidence.
    expect(await rs.get(key ?? '')).toMatchObject({ state: 'succeeded', generation: 2, keyEvidence: null });
    expect((await send(1)).replayed).toBe(true);
    expect(server.resources).toHaveLength(1);
    const audit = await rs.audit(key ?? '');
    const rekeyed = audit.filter((e) => e.event === 'rekeyed');
    expect(rekeyed).toHaveLength(1);
    const detail = JSON.parse(rekeyed[0]?.detail ?? '{}') as Record<string, unknown>;
    expect(detail).toMatchObject({ fromGeneration: 1, toGeneration: 2, keyEvidence: 'burned' });
    expect(detail['evidence']).toMatchObject({ lookup: 'absent', keyEvidence: 'burned', generation: 1 });
    expect(String((detail['evidence'] as { answer?: unknown }).answer)).toContain('500');
  });

  it('a lookup that misses a write (lag beyond the settle delay): the same key first, so no second charge', async () => {
    // The search lags 30 min on the provider's clock, far past the client's settle delay.
    const server = (fake = await startFakeProvider(stripeFacts));
    const rs = client();
    const send = charge(rs, server, `stripe-lag-${randomUUID().slice(0, 8)}`);
    server.fault('error-after-effect'); // charged, then 500 (stored under the key)

    await expect(send(2)).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect(server.resources).toHaveLength(1);
    await sleep(SETTLE_MS + 20);
    // The lagging search says absent (wrongly, but past the settle delay, so trusted): the next attempt
    // keeps the provider key, and Stripe's own dedupe answers with the stored 500 instead of charging.
    await expect(send(2)).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect(server.resources).toHaveLength(1);
    expect(keysSent(server).size).toBe(1);

    // Once the search catches up, reconciliation finds the one charge.
    server.advance(31 * 60_000);
    await sleep(SETTLE_MS + 20);
    const found = await send(2);
    expect(found.reconciled).toBe(true);
    expect(server.resources).toHaveLength(1);
    expect(keysSent(server).size).toBe(1);
  });

  /** A provider that takes every request and answers only when told to. */
  async function neverAnswers(): Promise<{
    url: string;
    answer: (body: unknown) => void;
    seen: () => number;
  }> {
    const waiting: ServerResponse[] = [];
    let seen = 0;
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      seen++;
      req.resume();
      waiting.push(res);
    });
    hung = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      answer: (body) => {
        for (const res of waiting.splice(0)) res.writeHead(200).end(JSON.stringify(body));
      },
      seen: () => seen,
    };
  }

  const ATTEMPT_MS = 400;
  const LEASE_MS = 300;

  it('a call that ignores its signal: the key is reclaimable within attemptTimeoutMs + leaseMs, the late answer kept', async () => {
    const provider = await neverAnswers();
    const rs = client();
    let lookups = 0;
    const op = rs.operation({
      name: `hung-${randomUUID().slice(0, 8)}`,
      version: 1,
      key: (order: number) => ({ order }),
      attemptTimeoutMs: ATTEMPT_MS,
      leaseMs: LEASE_MS,
      // No signal passed on: this call cannot be stopped.
      call: async () => (await fetch(`${provider.url}/charge`, { method: 'POST', body: '{}' })).json(),
      lookup: () => {
        lookups++;
        return Promise.resolve({ status: 'absent' as const });
      },
    });
    const startedAt = Date.now();
    const error: unknown = await op(3).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutcomeUnknownError);
    expect((error as Error).cause).toBeInstanceOf(AttemptTimeoutError);
    const key = op.keyOf(3);
    expect(await rs.get(key)).toMatchObject({ state: 'unknown', attempt: 1 });

    // By attemptTimeoutMs + leaseMs after the call began, another client can take the key over.
    await sleep(Math.max(0, startedAt + ATTEMPT_MS + LEASE_MS - Date.now()));
    const reclaimed = await client().store.reclaim({
      key,
      attempt: 1,
      token: randomUUID(),
      leaseMs: 60_000,
      reason: 'test: the lookup said absent',
    });
    expect(reclaimed.ok).toBe(true);
    expect(lookups).toBe(0);

    // The provider answers at last: the stale call's result is refused and kept as evidence.
    provider.answer({ id: 'ch_late', amount: 3 });
    let late;
    for (let i = 0; i < 100 && late === undefined; i++) {
      late = (await rs.audit(key)).find((e) => e.event === 'late_write');
      if (late === undefined) await sleep(20);
    }
    expect(late?.detail).toContain('ch_late');
    expect(provider.seen()).toBe(1);
  });

  it('when the deadline cannot even be recorded, renewals stop: the lease lapses within leaseMs', async () => {
    const provider = await neverAnswers();
    const store = failing(kind.open(), ['settle']);
    store.broken = true;
    const rs = client(store);
    const op = rs.operation({
      name: `hung-down-${randomUUID().slice(0, 8)}`,
      version: 1,
      key: (order: number) => ({ order }),
      attemptTimeoutMs: ATTEMPT_MS,
      leaseMs: LEASE_MS,
      call: async () => (await fetch(`${provider.url}/charge`, { method: 'POST', body: '{}' })).json(),
    });
    const startedAt = Date.now();
    await expect(op(4)).rejects.toBeInstanceOf(OutcomeUnknownError);
    const key = op.keyOf(4);
    await sleep(Math.max(0, startedAt + ATTEMPT_MS + LEASE_MS - Date.now()));
    const other = client();
    const marked = await other.store.markUnknown(key, 1, 'lease lapsed before the outcome was recorded');
    expect(marked.ok).toBe(true);
    provider.answer({ id: 'ch_late' });
  });

  it('a call that honours its signal ends at the deadline with no answer, and nothing late is written', async () => {
    const provider = await neverAnswers();
    const rs = client();
    const op = rs.operation({
      name: `hung-signal-${randomUUID().slice(0, 8)}`,
      version: 1,
      key: (order: number) => ({ order }),
      attemptTimeoutMs: ATTEMPT_MS,
      leaseMs: LEASE_MS,
      call: async (_order, { signal }) =>
        (await fetch(`${provider.url}/charge`, { method: 'POST', body: '{}', signal })).json(),
    });
    await expect(op(5)).rejects.toBeInstanceOf(OutcomeUnknownError);
    const key = op.keyOf(5);
    expect(await rs.get(key)).toMatchObject({ state: 'unknown', keyEvidence: null });
    await sleep(50);
    expect((await rs.audit(key)).map((e) => e.event)).toEqual([]);
  });

  it('a lookup that never answers ends at lookupTimeoutMs as unknown', async () => {
    const rs = client();
    const op = rs.operation({
      name: `hung-lookup-${randomUUID().slice(0, 8)}`,
      version: 1,
      key: (order: number) => ({ order }),
      lookupTimeoutMs: 100,
      call: () => Promise.reject(new Error('socket hang up')),
      lookup: (_payload, { signal }) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            reject(signal.reason as Error);
          });
        }),
    });
    await expect(op(6)).rejects.toBeInstanceOf(OutcomeUnknownError);
    const error: unknown = await op(6).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutcomeUnknownError);
    expect((error as Error).message).toContain('lookupTimeoutMs');
    const plan = await rs.reconcile({ keys: [op.keyOf(6)], apply: true });
    expect(plan.map((e) => e.outcome)).toEqual(['unknown']);
  });
});
