import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError, InvalidKeyInputError, OutcomeUnknownError } from '../../src/index.ts';
import { idempotentFetch, type FetchWrite } from '../../src/integrations/fetch.ts';
import { retrysafeInterceptor } from '../../src/integrations/undici.ts';
import { DAY, githubIssues, mollie, stripe, type ProviderProfile } from '../../src/providers/index.ts';
import { sqliteFixture, type Fixture } from '../executor/fixtures.ts';
import { dialects } from '../providers/dialects.ts';
import { startFakeProvider, type FakeProvider } from '../providers/fake-provider.ts';

let fx: Fixture;
let servers: { close(): Promise<void> }[];
beforeEach(() => {
  fx = sqliteFixture();
  servers = [];
});
afterEach(async () => {
  for (const s of servers) await s.close();
  await fx.close();
});

/** A server that only records what reaches it: the place a turned request or a leaked credential would go. */
interface Recorder {
  readonly url: string;
  readonly seen: { method: string; path: string; headers: IncomingMessage['headers']; body: string }[];
  close(): Promise<void>;
}
async function recorder(answer: (path: string) => { status: number; body: string; headers?: object }) {
  const seen: Recorder['seen'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      const a = answer(req.url ?? '');
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const r: Recorder = {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  };
  servers.push(r);
  return r;
}

async function stripeServer(): Promise<FakeProvider> {
  const facts = dialects['stripe']?.facts;
  if (facts === undefined) throw new Error('no stripe dialect');
  const s = await startFakeProvider(facts);
  servers.push(s);
  return s;
}

const SECRET = 'live_SECRET_TOKEN';

/**
 * A charge whose answer was lost (recorded unknown, no re-send inside the call), against a Stripe-like
 * provider, with a second server standing by to see whether anything reaches it; `stored` reads the
 * record's key and stored request straight from the SQLite file.
 */
async function unknownCharge(body: string, headers: Record<string, string> = {}) {
  const provider = await stripeServer();
  const elsewhere = await recorder(() => ({ status: 200, body: '{"id":"ch_evil"}' }));
  const profile: ProviderProfile = { ...stripe, retention: { floorMs: DAY, countsFrom: 'first-request' } };
  const charge = idempotentFetch(fx.rs, {
    name: 'charge',
    version: 1,
    profile,
    ttlMs: DAY,
    origin: provider.url,
    headers: { authorization: `Bearer ${SECRET}` },
    // The lost answer must reach the store as unknown: no re-send inside the call.
    resendAttempts: 0,
  });
  provider.dropAnswers(1);
  await expect(
    charge({ key: 1, method: 'POST', url: `${provider.url}/v1/charges`, headers, body }),
  ).rejects.toBeInstanceOf(OutcomeUnknownError);
  const db = new Database(fx.file);
  const stored = db.prepare('SELECT key, request FROM retrysafe_records').get() as {
    key: string;
    request: string;
  };
  return { provider, elsewhere, db, stored };
}

describe('finding 3: a re-send sends only the request the record was fingerprinted with', () => {
  it('refuses a stored request edited in SQLite: nothing sent, no credential reaches another server', async () => {
    const {
      provider,
      elsewhere,
      db,
      stored: row,
    } = await unknownCharge('amount=1200&currency=eur', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    const sentBefore = provider.requests.length;

    // Someone with write access to the store turns the request: another server, another amount.
    const turned = JSON.parse(row.request) as { url: string; body: string };
    turned.url = `${elsewhere.url}/v1/charges`;
    turned.body = 'amount=999900&currency=eur';
    db.prepare('UPDATE retrysafe_records SET request = ? WHERE key = ?').run(JSON.stringify(turned), row.key);
    db.close();

    const plan = await fx.rs.reconcile({ operation: 'charge@1' });
    expect(plan.map((e) => e.action)).toEqual(['refuse']);
    expect(plan[0]?.reason).toMatch(/does not match the record's fingerprint/);
    const applied = await fx.rs.reconcile({ operation: 'charge@1', apply: true });
    expect(applied.map((e) => e.outcome)).toEqual(['refused']);
    expect(elsewhere.seen).toEqual([]);
    expect(provider.requests.length).toBe(sentBefore);
    expect((await fx.rs.get(row.key))?.state).toBe('unknown');
  });

  it('even with the fingerprint recomputed, credentials go only to the declared origin', async () => {
    const { elsewhere, db, stored: row } = await unknownCharge('amount=1200');
    const turned = JSON.parse(row.request) as Record<string, unknown>;
    turned['url'] = `${elsewhere.url}/v1/charges`;
    const { canonicalize, fingerprint } = await import('../../src/index.ts');
    const text = canonicalize(turned);
    db.prepare('UPDATE retrysafe_records SET request = ?, fingerprint = ? WHERE key = ?').run(
      text,
      fingerprint(turned),
      row.key,
    );
    db.close();
    const applied = await fx.rs.reconcile({ operation: 'charge@1', apply: true });
    expect(applied.map((e) => [e.action, e.outcome])).toEqual([['resend', 'unknown']]);
    expect(elsewhere.seen).toEqual([]);
  });

  it('a request to an undeclared origin is refused before anything is reserved', async () => {
    const provider = await stripeServer();
    const charge = idempotentFetch(fx.rs, {
      name: 'charge',
      version: 1,
      profile: stripe,
      ttlMs: DAY,
      origin: 'https://api.stripe.com',
      headers: { authorization: `Bearer ${SECRET}` },
    });
    await expect(
      charge({ key: 1, method: 'POST', url: `${provider.url}/v1/charges`, body: 'amount=1' }),
    ).rejects.toBeInstanceOf(ConfigurationError);
    expect(provider.requests).toEqual([]);
    expect(await fx.rs.list()).toEqual([]);
  });

  it('attached headers need a declared origin', () => {
    expect(() =>
      idempotentFetch(fx.rs, {
        name: 'c',
        version: 1,
        profile: stripe,
        ttlMs: DAY,
        headers: { authorization: 'x' },
      }),
    ).toThrow(/declare the `origin`/);
    expect(() =>
      retrysafeInterceptor({
        rs: fx.rs,
        name: 'c',
        version: 1,
        profile: mollie,
        ttlMs: DAY,
        headers: { authorization: 'x' },
      }),
    ).toThrow(/declare the `origin`/);
  });

  it('the GitHub lookup follows next pages only on the origin it was asked about', async () => {
    const elsewhere = await recorder(() => ({ status: 200, body: '[]' }));
    const github = await recorder(() => ({
      status: 200,
      body: '[]',
      headers: { link: `<${elsewhere.url}/repos/o/r/issues?page=2>; rel="next"` },
    }));
    const find = githubIssues.lookup?.find;
    if (find === undefined) throw new Error('no lookup');
    const http = async (request: { method: string; url: string; body: string | null }) => {
      const response = await fetch(request.url, {
        method: request.method,
        headers: { authorization: `Bearer ${SECRET}` },
      });
      return {
        status: response.status,
        headers: Object.fromEntries(response.headers),
        body: await response.text(),
      };
    };
    const answer = await find(
      {
        request: { method: 'POST', url: `${github.url}/repos/o/r/issues`, headers: {}, body: '{}' },
        key: 'k',
        providerKey: 'pk',
        since: 0,
      },
      http,
    );
    expect(answer.status).toBe('unknown');
    expect(github.seen).toHaveLength(1);
    expect(elsewhere.seen).toEqual([]);
  });

  it('the Mollie lookup follows next pages only on the origin it was asked about', async () => {
    const elsewhere = await recorder(() => ({ status: 200, body: '{}' }));
    const now = new Date().toISOString();
    const page = JSON.stringify({
      _embedded: { payments: [{ id: 'tr_1', createdAt: now, metadata: {} }] },
      _links: { next: { href: `${elsewhere.url}/v2/payments?from=tr_0` } },
    });
    const api = await recorder(() => ({ status: 200, body: page }));
    const find = mollie.lookup?.find;
    if (find === undefined) throw new Error('no lookup');
    const http = async (request: { method: string; url: string }) => {
      const response = await fetch(request.url, { headers: { authorization: `Bearer ${SECRET}` } });
      return { status: response.status, headers: {}, body: await response.text() };
    };
    const answer = await find(
      {
        request: { method: 'POST', url: `${api.url}/v2/payments`, headers: {}, body: '{}' },
        key: 'k',
        providerKey: 'pk',
        since: Date.now(),
      },
      http,
    );
    expect(answer.status).toBe('unknown');
    expect(api.seen).toHaveLength(1);
    expect(elsewhere.seen).toEqual([]);
  });
});

describe('finding 4: credentials are refused wherever they can appear, before anything is reserved', () => {
  const headerNames = [
    'authorization',
    'proxy-authorization',
    'cookie',
    'x-api-key',
    'api-key',
    'apikey',
    'x-auth-token',
    'private-token',
    'x-goog-api-key',
    'x-amz-security-token',
    'x-my-service-token',
    'X-Client-Secret',
  ];
  for (const name of headerNames) {
    it(`refuses the ${name} header`, async () => {
      const provider = await stripeServer();
      const write = idempotentFetch(fx.rs, { name: 'w', version: 1, profile: stripe, ttlMs: DAY });
      const error: unknown = await write({
        key: 1,
        method: 'POST',
        url: `${provider.url}/v1/charges`,
        headers: { [name]: 'sk_live_hidden' },
        body: '',
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).not.toContain('sk_live_hidden');
      expect(provider.requests).toEqual([]);
      expect(await fx.rs.list()).toEqual([]);
    });
  }

  it('takes more header and parameter names through the hook', async () => {
    const provider = await stripeServer();
    const write = idempotentFetch(fx.rs, {
      name: 'w',
      version: 1,
      profile: stripe,
      ttlMs: DAY,
      credentialHeaders: ['x-partner-id'],
      credentialParameters: ['partner'],
    });
    const send = (parts: Partial<FetchWrite>) =>
      write({ key: 1, method: 'POST', url: `${provider.url}/v1/charges`, body: '', ...parts });
    await expect(send({ headers: { 'X-Partner-Id': 'p' } })).rejects.toBeInstanceOf(ConfigurationError);
    await expect(send({ url: `${provider.url}/v1/charges?partner=p` })).rejects.toBeInstanceOf(
      ConfigurationError,
    );
    expect(provider.requests).toEqual([]);
  });

  const urls = [
    (base: string) => base.replace('http://', 'http://sk_live_123@'),
    (base: string) => base.replace('http://', 'http://user:pa55word@'),
    (base: string) => `${base}?api_key=SECRET2`,
    (base: string) => `${base}?Access-Token=SECRET2`,
    (base: string) => `${base}?amount=1&key=SECRET2`,
    (base: string) => `${base}?X-Amz-Signature=SECRET2`,
  ];
  for (const [i, url] of urls.entries()) {
    it(`refuses credentials in the URL (${i})`, async () => {
      const provider = await stripeServer();
      const write = idempotentFetch(fx.rs, { name: 'w', version: 1, profile: stripe, ttlMs: DAY });
      const error: unknown = await write({
        key: 1,
        method: 'POST',
        url: url(`${provider.url}/v1/charges`),
        body: '',
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      const text = `${(error as Error).message} ${JSON.stringify(error)}`;
      for (const secret of ['sk_live_123', 'pa55word', 'SECRET2']) expect(text).not.toContain(secret);
      expect(provider.requests).toEqual([]);
      // Refused before reserving: no never-expiring unknown record holding the password.
      expect(await fx.rs.list()).toEqual([]);
    });
  }

  it('the interceptor refuses a credential in the URL as well', async () => {
    const provider = await stripeServer();
    const { Agent, request } = await import('undici');
    const agent = new Agent().compose(
      retrysafeInterceptor({ rs: fx.rs, name: 'w', version: 1, profile: stripe, ttlMs: DAY }),
    );
    await expect(
      request(`${provider.url}/v1/charges?token=SECRET2`, {
        dispatcher: agent,
        method: 'POST',
        body: '',
        retrysafe: { key: 1 },
      } as Parameters<typeof request>[1]),
    ).rejects.toBeInstanceOf(ConfigurationError);
    await agent.close();
    expect(provider.requests).toEqual([]);
  });
});

describe('finding 6: per-call credentials never share a key across tenants', () => {
  it('a headers function must say whose credentials it returns', () => {
    expect(() =>
      idempotentFetch(fx.rs, {
        name: 'w',
        version: 1,
        profile: stripe,
        ttlMs: DAY,
        origin: 'https://api.stripe.com',
        headers: () => ({ authorization: 'Bearer x' }),
      }),
    ).toThrow(/credentialScope/);
  });

  it("tenant B never receives tenant A's charge: each write carries its tenant's scope", async () => {
    const provider = await stripeServer();
    let tenant = 'a';
    const charge = idempotentFetch(fx.rs, {
      name: 'charge',
      version: 1,
      profile: stripe,
      ttlMs: DAY,
      origin: provider.url,
      headers: () => ({ authorization: `Bearer sk_${tenant}` }),
      credentialScope: 'per-call',
    });
    const write = (scope?: string) =>
      charge({
        key: { order: 1 },
        ...(scope === undefined ? {} : { scope }),
        method: 'POST',
        url: `${provider.url}/v1/charges`,
        body: 'amount=500',
      });
    // Without a scope the write is refused before anything is reserved.
    await expect(write()).rejects.toBeInstanceOf(InvalidKeyInputError);
    expect(await fx.rs.list()).toEqual([]);
    expect(provider.requests).toEqual([]);

    const a = await write('tenant-a');
    tenant = 'b';
    const b = await write('tenant-b');
    expect(a.replayed).toBe(false);
    expect(b.replayed).toBe(false);
    expect(a.key).not.toBe(b.key);
    expect(provider.resources).toHaveLength(2);
    expect(provider.requests.map((r) => r.headers['authorization'])).toEqual(['Bearer sk_a', 'Bearer sk_b']);
  });

  it('shared credentials are declared as such', async () => {
    const provider = await stripeServer();
    const charge = idempotentFetch(fx.rs, {
      name: 'charge',
      version: 1,
      profile: stripe,
      ttlMs: DAY,
      origin: provider.url,
      headers: () => ({ authorization: 'Bearer sk_one' }),
      credentialScope: 'shared',
    });
    const result = await charge({ key: 1, method: 'POST', url: `${provider.url}/v1/charges`, body: 'a=1' });
    expect(result.replayed).toBe(false);
    expect(provider.requests.map((r) => r.headers['authorization'])).toEqual(['Bearer sk_one']);
  });
});
