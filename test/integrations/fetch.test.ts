import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError, OperationFailedError, OutcomeUnknownError } from '../../src/index.ts';
import { idempotentFetch } from '../../src/integrations/fetch.ts';
import {
  gocardless,
  idempotencyKeyHeader,
  stripe,
  DAY,
  type ProviderProfile,
} from '../../src/providers/index.ts';
import { sqliteFixture, type Fixture } from '../executor/fixtures.ts';
import { dialects, type Dialect } from '../providers/dialects.ts';
import { startFakeProvider, type FakeProvider } from '../providers/fake-provider.ts';

let fx: Fixture;
let server: FakeProvider | undefined;
beforeEach(() => {
  fx = sqliteFixture();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await fx.close();
});

const dialect = (name: string): Dialect => {
  const found = dialects[name];
  if (found === undefined) throw new Error(`no dialect ${name}`);
  return found;
};

function writer(profile: ProviderProfile, name = 'write', rs = fx.rs) {
  return idempotentFetch(rs, { name, version: 1, profile, inProgressDelaysMs: [5, 5, 5], ttlMs: DAY });
}

function body(value: unknown) {
  return { headers: { 'content-type': 'application/json' }, body: JSON.stringify(value), method: 'POST' };
}

const posts = (s: FakeProvider) => s.requests.filter((r) => r.method !== 'GET');
/** Forces every operation onto one provider key, so the fake sees one key used by different requests. */
const sharedKey = (profile: ProviderProfile): ProviderProfile => ({
  ...profile,
  derive: () => '5e1f0c7a-3b9d-5a2e-8f4c-1d2e3f4a5b6c',
});

describe('fetch wrapper: answers read by the profile', () => {
  it("a profile's derive is the provider key sent and the one the result reports", async () => {
    const s = (server = await startFakeProvider(dialect('ietf').facts));
    const profile = sharedKey(idempotencyKeyHeader({ retentionMs: DAY }));
    const result = await writer(profile)({ key: 1, url: `${s.url}/things`, ...body({ a: 1 }) });
    expect(result.providerKey).toBe('5e1f0c7a-3b9d-5a2e-8f4c-1d2e3f4a5b6c');
    expect(posts(s)[0]?.headers['idempotency-key']).toBe(result.providerKey);
  });

  it('a payload mismatch answer (IETF 422) is a stored failure and never retried', async () => {
    const s = (server = await startFakeProvider(dialect('ietf').facts));
    const profile = sharedKey(idempotencyKeyHeader({ retentionMs: DAY }));
    await writer(profile, 'first')({ key: 1, url: `${s.url}/things`, ...body({ a: 1 }) });
    const second = writer(profile, 'second');
    const error: unknown = await second({ key: 1, url: `${s.url}/things`, ...body({ a: 2 }) }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OperationFailedError);
    expect(posts(s)).toHaveLength(2);
    // Asking again replays the stored failure: still no request.
    await expect(second({ key: 1, url: `${s.url}/things`, ...body({ a: 2 }) })).rejects.toBeInstanceOf(
      OperationFailedError,
    );
    expect(posts(s)).toHaveLength(2);
  });

  it('an in-progress answer (IETF 409) is retried with the same key; when retries run out the outcome is unknown', async () => {
    const s = (server = await startFakeProvider(dialect('ietf').facts));
    const profile = sharedKey(idempotencyKeyHeader({ retentionMs: DAY }));
    s.fault('hold');
    const first = writer(profile, 'first')({ key: 1, url: `${s.url}/things`, ...body({ a: 1 }) });
    for (let i = 0; i < 200 && posts(s).length === 0; i++) await sleep(5);
    const second = writer(profile, 'second');
    await expect(second({ key: 1, url: `${s.url}/things`, ...body({ a: 1 }) })).rejects.toBeInstanceOf(
      OutcomeUnknownError,
    );
    expect(posts(s)).toHaveLength(5); // the first, then the second's try and 3 retries
    expect(new Set(posts(s).map((r) => r.headers['idempotency-key'])).size).toBe(1);
    s.release();
    await first;
    expect(s.resources).toHaveLength(1);
  });

  it('GoCardless: a 409 naming the resource is read back and returned as the replay', async () => {
    const d = dialect('gocardless');
    const s = (server = await startFakeProvider(d.facts));
    s.dropAnswers(1);
    const write = writer({ ...gocardless, retention: { floorMs: DAY, countsFrom: 'first-request' } });
    const send = () => write({ key: 1, url: `${s.url}/payments`, ...body({ payments: { amount: 500 } }) });
    await expect(send()).rejects.toBeInstanceOf(OutcomeUnknownError);
    const replay = await send();
    expect(replay.answer.status).toBe(200);
    expect(JSON.parse(replay.answer.body)).toEqual({ payments: { id: 'PM1', amount: 500 } });
    expect(s.requests.map((r) => `${r.method} ${r.url.pathname}`)).toEqual([
      'POST /payments',
      'POST /payments',
      'GET /payments/PM1',
    ]);
  });

  it('refuses to store credentials passed per request', async () => {
    const write = writer(stripe);
    await expect(
      write({
        key: 1,
        url: 'http://127.0.0.1:9/v1/charges',
        method: 'POST',
        headers: { authorization: 'Bearer x' },
        body: '',
      }),
    ).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('checks the TTL at declaration', () => {
    expect(() =>
      idempotentFetch(fx.rs, { name: 'w', version: 1, profile: idempotencyKeyHeader({ retentionMs: DAY }) }),
    ).toThrow(/ttlMs 604800000 \(7 d\) outlives .* retention of 86400000 \(1 d\)/);
  });
});

describe('batch reconciliation of fetch writes from the stored request', () => {
  it('re-sends the stored request within retention, and looks up once the provider forgot', async () => {
    const d = dialect('stripe');
    const s = (server = await startFakeProvider(d.facts));
    const send = (write: ReturnType<typeof writer>, order: number) =>
      write({
        key: order,
        url: `${s.url}/v1/charges`,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `amount=${order}&currency=eur`,
      });
    const forgetful: ProviderProfile = {
      ...stripe,
      retention: { floorMs: 60_000, countsFrom: 'first-request' },
    };
    const write = idempotentFetch(fx.rs, { name: 'charge', version: 1, profile: forgetful, ttlMs: DAY });
    s.dropAnswers(1);
    await expect(send(write, 1)).rejects.toBeInstanceOf(OutcomeUnknownError);

    const plan = await fx.rs.reconcile({ operation: 'charge@1' });
    expect(plan.map((e) => e.action)).toEqual(['resend']);
    const applied = await fx.rs.reconcile({ operation: 'charge@1', apply: true });
    expect(applied.map((e) => e.outcome)).toEqual(['succeeded']);
    expect(posts(s)).toHaveLength(2);
    expect(posts(s)[1]?.body).toBe(posts(s)[0]?.body); // the same bytes
    expect(new Set(posts(s).map((r) => r.headers['idempotency-key'])).size).toBe(1);
    expect(s.resources).toHaveLength(1);

    // A second write whose answer is lost, reconciled after the retention: lookup, no re-send.
    const quick: ProviderProfile = { ...stripe, retention: { floorMs: 1, countsFrom: 'first-request' } };
    const other = idempotentFetch(fx.client(), { name: 'charge', version: 1, profile: quick, ttlMs: DAY });
    s.dropAnswers(1);
    await expect(send(other, 2)).rejects.toBeInstanceOf(OutcomeUnknownError);
    s.advance(DAY + 3_600_000);
    await sleep(5);
    const rs2 = fx.client();
    idempotentFetch(rs2, { name: 'charge', version: 1, profile: quick, ttlMs: DAY });
    const done = await rs2.reconcile({ operation: 'charge@1', apply: true });
    expect(done.map((e) => [e.action, e.outcome])).toEqual([['lookup', 'succeeded']]);
    expect(posts(s)).toHaveLength(3);
    expect(s.resources).toHaveLength(2);
  });
});

describe('fetch wrapper: deadlines and declaration', () => {
  it('timeoutMs aborts a send the provider never answers: the outcome is unknown, not hung', async () => {
    const { createServer } = await import('node:http');
    const hang = createServer(() => {
      // Reads the request and never answers: the write may have happened.
    });
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
    try {
      const address = hang.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const send = idempotentFetch(fx.rs, {
        name: 'slow',
        version: 1,
        profile: idempotencyKeyHeader({ retentionMs: DAY }),
        ttlMs: DAY,
        timeoutMs: 200,
      });
      await expect(
        send({ key: 1, url: `http://127.0.0.1:${port}/things`, ...body({ a: 1 }) }),
      ).rejects.toBeInstanceOf(OutcomeUnknownError);
    } finally {
      hang.closeAllConnections();
      await new Promise((resolve) => hang.close(resolve));
    }
  });

  it('an IETF profile without a lookup and a TTL past its retention names the factory option as the fix', () => {
    const declare = () =>
      idempotentFetch(fx.rs, {
        name: 'ietf',
        version: 1,
        profile: idempotencyKeyHeader({ retentionMs: DAY }),
      });
    expect(declare).toThrow(ConfigurationError);
    expect(declare).toThrow('idempotencyKeyHeader({ retentionMs, lookup: { settleMs, find } })');
    expect(() =>
      idempotentFetch(fx.rs, {
        name: 'ietf',
        version: 1,
        profile: idempotencyKeyHeader({ retentionMs: DAY }),
        ttlMs: DAY,
      }),
    ).not.toThrow();
  });
});
