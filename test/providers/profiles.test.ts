import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutcomeUnknownError, type RetrySafe } from '../../src/index.ts';
import { idempotentFetch } from '../../src/integrations/fetch.ts';
import { resendWithinMs, type ProviderProfile } from '../../src/providers/index.ts';
import { sqliteFixture, type Fixture } from '../executor/fixtures.ts';
import { dialects, jiraPropertyDialect, type Dialect } from './dialects.ts';
import { startFakeProvider, type FakeProvider } from './fake-provider.ts';

let fx: Fixture;
let fake: FakeProvider | undefined;
beforeEach(() => {
  fx = sqliteFixture();
});
afterEach(async () => {
  await fake?.close();
  fake = undefined;
  await fx.close();
});

const all: [string, Dialect][] = [...Object.entries(dialects), ['jira-property', jiraPropertyDialect]];

function writer(rs: RetrySafe, dialect: Dialect, profile: ProviderProfile, more: { ttlMs?: number } = {}) {
  return idempotentFetch(rs, {
    name: 'provider-write',
    version: 1,
    profile,
    inProgressDelaysMs: [5, 5, 5],
    leaseMs: 2000,
    ...more,
  });
}

function send(write: ReturnType<typeof writer>, dialect: Dialect, server: FakeProvider) {
  return write({
    key: { order: 1 },
    method: dialect.write.method,
    url: `${server.url}${dialect.write.path}`,
    headers: { 'content-type': dialect.write.contentType },
    body: dialect.write.body,
  });
}

/** The write's provider key as the server saw it (undefined for providers without one). */
const keysSeen = (server: FakeProvider) =>
  new Set(server.requests.filter((r) => r.method !== 'GET').map((r) => server.facts.keyOf(r)));

/** The profile with time scaled down: the provider forgot the key after 1 ms, lookups settle after 1 ms. */
function forgetful(profile: ProviderProfile, settled: boolean): ProviderProfile {
  const floorMs = profile.retention.floorMs === null ? null : 1;
  return {
    ...profile,
    retention: {
      ...profile.retention,
      floorMs: profile.retention.countsFrom === 'natural' ? profile.retention.floorMs : floorMs,
    },
    ...(profile.lookup === undefined
      ? {}
      : { lookup: { ...profile.lookup, settleMs: settled ? 1 : profile.lookup.settleMs } }),
  };
}

describe.each(all)('profile %s against a fake that behaves like it', (_name, dialect) => {
  const { profile } = dialect;
  // A provider that caches only successes is looked up, never re-sent to (resendWithinMs is 0 for it).
  const resends = resendWithinMs(profile) > 0;

  it('a lost answer gives one write: re-sent inside the same call within retention, else a later lookup', async () => {
    const server = (fake = await startFakeProvider(dialect.facts));
    // Without a lookup the TTL check insists on a TTL within the provider's retention.
    const ttl =
      profile.lookup === undefined ? { ttlMs: Math.min(profile.retention.floorMs ?? 1, 7 * 86_400_000) } : {};
    const write = writer(fx.rs, dialect, profile, ttl);
    server.fault('lose-response');
    if (resends) {
      // Within the provider's retention, the lost answer is re-sent under the same key in the same call.
      const first = await send(write, dialect, server);
      expect(server.resources).toHaveLength(1);
      expect(first.answer.status).toBeLessThan(300);
      expect(first.answer.body).toContain(server.resources[0]?.id ?? 'missing');
      expect(first.attempt).toBe(2);
      // The same request went out again under the same native key, and the provider answered by its replay kind.
      expect(server.requests.filter((r) => r.method !== 'GET')).toHaveLength(2);
      // `replayed` follows the provider's replay signal.
      if (dialect.facts.replayHeaders !== undefined) {
        expect(first.answer.headers['idempotent-replayed']).toBe('true');
        expect(first.replayed).toBe(true);
      }
    } else {
      await expect(send(write, dialect, server)).rejects.toBeInstanceOf(OutcomeUnknownError);
      expect(server.resources).toHaveLength(1);
      server.advance((dialect.facts.lagMs ?? 0) + 1); // the lookup must be able to see it
      const second = await send(write, dialect, server);
      expect(server.resources).toHaveLength(1);
      expect(second.answer.status).toBeLessThan(300);
      expect(second.answer.body).toContain(server.resources[0]?.id ?? 'missing');
      expect(second.reconciled).toBe(true);
      expect(server.requests.filter((r) => r.method !== 'GET')).toHaveLength(1);
    }
    if (profile.key !== null) expect(keysSeen(server).size).toBe(1);
  });

  // Only profiles this applies to get the test (no skipped rows for the others).
  if (profile.retention.countsFrom !== 'natural')
    it('after the provider forgot the key, reconciliation never re-sends: it looks up, or leaves the outcome unknown', async () => {
      const server = (fake = await startFakeProvider(dialect.facts));
      const write = writer(
        fx.rs,
        dialect,
        forgetful(profile, false),
        profile.lookup === undefined ? { ttlMs: 1 } : {},
      );
      server.fault('lose-response');
      await expect(send(write, dialect, server)).rejects.toBeInstanceOf(OutcomeUnknownError);
      server.advance(dialect.facts.retentionMs + (dialect.facts.lagMs ?? 0) + 1);
      await sleep(5); // past the client's scaled 1 ms retention
      if (profile.lookup === undefined) {
        await expect(send(write, dialect, server)).rejects.toBeInstanceOf(OutcomeUnknownError);
      } else {
        const second = await send(write, dialect, server);
        expect(second.reconciled).toBe(true);
      }
      expect(server.resources).toHaveLength(1);
      expect(server.requests.filter((r) => r.method !== 'GET')).toHaveLength(1);
    });

  // Only profiles this applies to get the test (no skipped rows for the others).
  if (profile.lookup !== undefined)
    it('a lookup that lags: absent is not trusted before the settle delay, and opens a new attempt after it', async () => {
      const server = (fake = await startFakeProvider(dialect.facts));
      server.fault('lose-before-effect');
      const strict = writer(fx.rs, dialect, forgetful(profile, false));
      await expect(send(strict, dialect, server)).rejects.toBeInstanceOf(OutcomeUnknownError);
      await sleep(5);
      if ((profile.lookup?.settleMs ?? 0) > 1) {
        // Absent, but the provider may lag: still unknown, and nothing is sent.
        await expect(send(strict, dialect, server)).rejects.toBeInstanceOf(OutcomeUnknownError);
        expect(server.requests.filter((r) => r.method !== 'GET')).toHaveLength(1);
      }
      const settled = writer(fx.client(), dialect, forgetful(profile, true));
      const done = await send(settled, dialect, server);
      expect(done.reconciled).toBe(false);
      expect(server.resources).toHaveLength(1);
      expect(server.requests.filter((r) => r.method !== 'GET')).toHaveLength(2);
    });
});
