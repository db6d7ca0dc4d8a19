import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  normalizeActor,
  OutcomeUnknownError,
  OverrideRefusedError,
  PayloadMismatchError,
  ResolveRefusedError,
  type Operation,
  type RetrySafe,
} from '../../src/index.ts';
import { sqliteFixture, type Fixture } from './fixtures.ts';

class Declined extends Error {
  override name = 'Declined';
}
class Timeout extends Error {
  override name = 'Timeout';
}

let fx: Fixture;
beforeEach(() => {
  fx = sqliteFixture();
});
afterEach(async () => {
  await fx.close();
});

interface Refund {
  readonly id: number;
  readonly amount: number;
}

/** A refund API that declines what `declines` says and records every refund it performs. */
function refunds(rs: RetrySafe, declines: (attempt: number) => boolean, performed: Refund[]) {
  return rs.operation<Refund, string>({
    name: 'refund',
    version: 1,
    key: (r) => ({ id: r.id }),
    retryFailed: true,
    call: (r, ctx) => {
      if (declines(ctx.attempt)) return Promise.reject(new Declined('declined'));
      performed.push(r);
      return Promise.resolve(`refunded ${r.amount}`);
    },
    classify: (error) => (error instanceof Declined ? 'failed' : 'unknown'),
  });
}

describe('an approved override lapses when the record moves on', () => {
  it('a retry of the failed refund succeeds; the approved replacement is then refused', async () => {
    const performed: Refund[] = [];
    const refund = refunds(fx.rs, (attempt) => attempt === 1, performed);
    await expect(refund({ id: 1, amount: 10 })).rejects.toThrow();
    const request = await refund.requestOverride({ id: 1, amount: 12 }, { by: 'alice', reason: 'amount' });
    await fx.rs.approveOverride(request.id, { by: 'bob' });
    // The original is redelivered and, with retryFailed, succeeds this time.
    expect(await refund({ id: 1, amount: 10 })).toMatchObject({ value: 'refunded 10', attempt: 2 });
    // The approval was for replacing a failed refund; now it would be a second refund.
    await expect(refund({ id: 1, amount: 12 })).rejects.toBeInstanceOf(PayloadMismatchError);
    expect(performed).toEqual([{ id: 1, amount: 10 }]);
  });
});

describe('identities are normalized before they are compared or stored', () => {
  it('folds case, width and surrounding space; refuses empty, invisible and library identities', () => {
    for (const spelling of ['alice', 'Alice', ' alice ', 'ALICE', 'ａｌｉｃｅ', 'alice\u00a0']) {
      expect(normalizeActor('by', spelling)).toBe('alice');
    }
    expect(normalizeActor('by', 'Straße  Team')).toBe('strasse team');
    for (const bad of ['', '   ', 'ali\u200bce', 'alice\n', 'al\u0000ice', 'executor', 'Reconciler', 42]) {
      expect(() => normalizeActor('by', bad)).toThrow(ConfigurationError);
    }
  });

  it('one person cannot approve their own override by spelling their name differently', async () => {
    const charge = refunds(fx.rs, () => false, []);
    await charge({ id: 2, amount: 100 });
    const request = await charge.requestOverride({ id: 2, amount: 90 }, { by: ' Alice', reason: 'fix' });
    expect(request.requestedBy).toBe('alice');
    for (const spelling of ['alice', 'alice ', 'ALICE', 'ａｌｉｃｅ']) {
      await expect(fx.rs.approveOverride(request.id, { by: spelling })).rejects.toBeInstanceOf(
        OverrideRefusedError,
      );
    }
    await expect(fx.rs.approveOverride(request.id, { by: 'ali\u200bce' })).rejects.toBeInstanceOf(
      ConfigurationError,
    );
    expect((await fx.rs.overrides(request.key))[0]?.status).toBe('pending');
    expect((await fx.rs.approveOverride(request.id, { by: 'Bob' })).approvedBy).toBe('bob');
  });
});

describe('an override request shows the approver what will be sent', () => {
  it('keeps the canonical proposed payload, from an operation or from a payload given by key', async () => {
    const charge = refunds(fx.rs, () => false, []);
    const { key } = await charge({ id: 3, amount: 100 });
    const byInput = await charge.requestOverride({ id: 3, amount: 120 }, { by: 'alice', reason: 'r' });
    expect(byInput.payload).toBe('{"amount":120,"id":3}');
    const byKey = await fx.rs.requestOverride(key, {
      payload: { id: 3, amount: 130 },
      by: 'carol',
      reason: 'r',
    });
    expect(byKey.payload).toBe('{"amount":130,"id":3}');
    expect(byKey.fingerprint).not.toBe(byInput.fingerprint);
  });

  it('refuses to approve a request whose stored payload no longer matches its fingerprint', async () => {
    const charge = refunds(fx.rs, () => false, []);
    await charge({ id: 4, amount: 100 });
    const request = await charge.requestOverride({ id: 4, amount: 120 }, { by: 'alice', reason: 'r' });
    // Someone with write access to the store shows the approver a harmless amount.
    const db = new Database(fx.file);
    db.prepare('UPDATE retrysafe_overrides SET payload = ? WHERE id = ?').run(
      '{"amount":1,"id":4}',
      request.id,
    );
    db.close();
    await expect(fx.rs.approveOverride(request.id, { by: 'bob' })).rejects.toThrow(/does not match/);
    expect((await fx.rs.overrides(request.key))[0]?.status).toBe('pending');
  });

  it('keeps no payload for an operation that stores none', async () => {
    const secret = fx.rs.operation<Refund, string>({
      name: 'secret',
      version: 1,
      key: (r) => ({ id: r.id }),
      storeRequest: false,
      call: () => Promise.resolve('ok'),
    });
    await secret({ id: 5, amount: 1 });
    const request = await secret.requestOverride({ id: 5, amount: 2 }, { by: 'alice', reason: 'r' });
    expect(request.payload).toBeNull();
  });
});

describe('resolving an unknown outcome takes evidence or a second person', () => {
  let performed: number;
  let send: Operation<number, string>;
  const unknownKey = async (id: number): Promise<string> => {
    await expect(send(id)).rejects.toBeInstanceOf(OutcomeUnknownError);
    return send.keyOf(id);
  };
  beforeEach(() => {
    performed = 0;
    send = fx.rs.operation<number, string>({
      name: 'send',
      version: 1,
      key: (id) => ({ id }),
      call: (_id, ctx) => {
        performed++;
        return ctx.attempt === 1 ? Promise.reject(new Timeout('lost')) : Promise.resolve('sent');
      },
    });
  });

  it('one person cannot make later callers receive an invented result', async () => {
    const key = await unknownKey(1);
    await expect(
      fx.rs.resolve(key, { state: 'succeeded', result: { fake: true }, by: 'alice', reason: 'trust me' }),
    ).rejects.toBeInstanceOf(ResolveRefusedError);
    expect(await fx.rs.get(key)).toMatchObject({ state: 'unknown', result: null });
    await expect(send(1)).rejects.toBeInstanceOf(OutcomeUnknownError);
  });

  it('one person cannot re-open a key for a new send, as not performed or as failed', async () => {
    const key = await unknownKey(2);
    for (const state of ['released', 'failed'] as const) {
      await expect(fx.rs.resolve(key, { state, by: 'alice', reason: 'never sent' })).rejects.toBeInstanceOf(
        ResolveRefusedError,
      );
    }
    expect((await fx.rs.audit(key)).map((entry) => entry.event)).not.toContain('resolved');
    expect(performed).toBe(1);
  });

  it('a provider reference is evidence: resolved at once, and the audit entry says what it rests on', async () => {
    const key = await unknownKey(3);
    const record = await fx.rs.resolve(key, {
      state: 'succeeded',
      result: 'sent',
      providerRef: 'msg_3',
      by: 'Alice',
      reason: 'found in the provider dashboard',
    });
    expect(record).toMatchObject({ state: 'succeeded', providerRef: 'msg_3' });
    const entry = (await fx.rs.audit(key)).find((e) => e.event === 'resolved');
    expect(entry?.actor).toBe('alice');
    expect(JSON.parse(entry?.detail ?? '{}')).toMatchObject({
      evidence: { kind: 'provider-ref', providerRef: 'msg_3' },
    });
  });

  it('a request approved by a second, different person resolves; its requester cannot approve it', async () => {
    const key = await unknownKey(4);
    const request = await fx.rs.requestResolution(key, { state: 'released', by: 'alice', reason: 'no send' });
    expect(request).toMatchObject({ key, attempt: 1, state: 'released', requestedBy: 'alice' });
    expect(await fx.rs.get(key)).toMatchObject({ state: 'unknown' });
    await expect(fx.rs.approveResolution(key, request.id, { by: ' ALICE ' })).rejects.toBeInstanceOf(
      ResolveRefusedError,
    );
    const record = await fx.rs.approveResolution(key, request.id, { by: 'bob' });
    expect(record).toMatchObject({ state: 'released', reason: 'no send' });
    const entries = await fx.rs.audit(key);
    expect(entries.map((e) => `${e.event}:${e.actor}`)).toEqual(
      expect.arrayContaining(['resolution_requested:alice', 'resolved:bob']),
    );
    const resolved = entries.find((e) => e.event === 'resolved');
    expect(JSON.parse(resolved?.detail ?? '{}')).toMatchObject({
      evidence: { kind: 'second-person', request: request.id, requestedBy: 'alice', approvedBy: 'bob' },
    });
    // Approved once: the record moved on, so the same request cannot be applied again.
    await expect(fx.rs.approveResolution(key, request.id, { by: 'carol' })).rejects.toBeInstanceOf(
      ResolveRefusedError,
    );
    expect(await send(4)).toMatchObject({ value: 'sent', attempt: 2 });
  });

  it('a request lapses when the record moves on before it is approved', async () => {
    const key = await unknownKey(5);
    const request = await fx.rs.requestResolution(key, { state: 'released', by: 'alice', reason: 'r' });
    await fx.rs.resolve(key, { state: 'failed', providerRef: 're_5', by: 'carol', reason: 'declined' });
    await expect(fx.rs.approveResolution(key, request.id, { by: 'bob' })).rejects.toThrow(/moved on/);
    expect(await fx.rs.get(key)).toMatchObject({ state: 'failed' });
  });

  it('resolvePolicy second-person refuses evidence alone; single-person takes one word, audited as such', async () => {
    const key = await unknownKey(6);
    const strict = fx.client({ resolvePolicy: 'second-person' });
    await expect(
      strict.resolve(key, { state: 'succeeded', providerRef: 'msg_6', by: 'alice', reason: 'r' }),
    ).rejects.toBeInstanceOf(ResolveRefusedError);
    const lenient = fx.client({ resolvePolicy: 'single-person' });
    await lenient.resolve(key, { state: 'released', by: 'alice', reason: 'on call alone' });
    const resolved = (await fx.rs.audit(key)).find((e) => e.event === 'resolved');
    expect(JSON.parse(resolved?.detail ?? '{}')).toMatchObject({ evidence: { kind: 'single-person' } });
    expect(() => fx.client({ resolvePolicy: 'anyone' as never })).toThrow(ConfigurationError);
  });
});
