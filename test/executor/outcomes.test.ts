import diagnostics from 'node:diagnostics_channel';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  defaultClassify,
  LeaseLostError,
  OperationFailedError,
  OutcomeUnknownError,
  OverrideRefusedError,
  PayloadMismatchError,
  ResolveRefusedError,
  TombstoneReplayError,
  type LookupAnswer,
  type Operation,
  type OperationDefinition,
} from '../../src/index.ts';
import { failing, sqliteFixture, type Fixture } from './fixtures.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Declined extends Error {
  override name = 'Declined';
  readonly status = 402;
}
class Timeout extends Error {
  override name = 'Timeout';
}
const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });

let fx: Fixture;
let attempts: number[];

beforeEach(() => {
  fx = sqliteFixture();
  attempts = [];
});
afterEach(async () => {
  await fx.close();
});

type Def = OperationDefinition<number, string>;

/** An operation whose call does what `behave` says on each attempt. */
function op(behave: (attempt: number) => Promise<string>, more: Partial<Def> = {}, rs = fx.rs) {
  return rs.operation<number, string>({
    name: 'send',
    version: 1,
    key: (id) => ({ id }),
    call: (_id, ctx) => {
      attempts.push(ctx.attempt);
      return behave(ctx.attempt);
    },
    classify: (error) => (error instanceof Declined ? 'failed' : 'unknown'),
    ...more,
  });
}

describe('classified outcomes', () => {
  it('replays a definitive failure without calling again', async () => {
    const send = op(() => Promise.reject(new Declined('card declined')));
    const first = await send(1).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(OperationFailedError);
    expect(first).toMatchObject({ replayed: false, failure: { name: 'Declined', status: 402 } });
    expect((first as Error).cause).toBeInstanceOf(Declined);
    const again = await send(1).catch((e: unknown) => e);
    expect(again).toMatchObject({ replayed: true, failure: { message: 'card declined' } });
    expect(attempts).toEqual([1]);
  });

  it('allows a new attempt after a failure when the operation says so', async () => {
    const send = op((n) => (n === 1 ? Promise.reject(new Declined('no')) : Promise.resolve('ok')), {
      retryFailed: true,
    });
    await expect(send(1)).rejects.toBeInstanceOf(OperationFailedError);
    expect(await send(1)).toMatchObject({ value: 'ok', attempt: 2, replayed: false });
  });

  it('releases a call that provably never left (connection refused) and rethrows its error', async () => {
    const send = op((n) => (n === 1 ? Promise.reject(refused()) : Promise.resolve('sent')), {
      classify: defaultClassify,
    });
    const error = await send(2).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
    expect(await fx.rs.get(send.keyOf(2))).toMatchObject({ state: 'released', attempt: 1 });
    expect(await send(2)).toMatchObject({ value: 'sent', attempt: 2 });
  });

  it('records unknown and then blocks: no re-execution on a guess', async () => {
    const send = op(() => Promise.reject(new Timeout('socket hang up after send')));
    const first = await send(3).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(OutcomeUnknownError);
    expect((first as OutcomeUnknownError).record).toMatchObject({ state: 'unknown', attempt: 1 });
    const second = await send(3).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(OutcomeUnknownError);
    expect(attempts).toEqual([1]);
  });

  it('keeps a result that has no JSON form as an outcome without a replayable value', async () => {
    const send = op(() => Promise.resolve(10n as unknown as string));
    expect((await send(4)).value).toBe(10n);
    await expect(send(4)).rejects.toBeInstanceOf(TombstoneReplayError);
    expect(attempts).toEqual([1]);
  });
});

describe('reconciliation through a lookup', () => {
  const timeoutThen = (answer: LookupAnswer<string>, more: Partial<Def> = {}) =>
    op((n) => (n === 1 ? Promise.reject(new Timeout('lost response')) : Promise.resolve(`fresh-${n}`)), {
      lookup: () => Promise.resolve(answer),
      ...more,
    });

  it('found: records the provider result and returns it as reconciled', async () => {
    const send = timeoutThen({ status: 'found', value: 'from-provider', providerRef: 'ref_1' });
    await expect(send(5)).rejects.toBeInstanceOf(OutcomeUnknownError);
    const result = await send(5);
    expect(result).toMatchObject({ value: 'from-provider', reconciled: true, replayed: true });
    expect(await fx.rs.get(result.key)).toMatchObject({ state: 'succeeded', providerRef: 'ref_1' });
    expect(attempts).toEqual([1]);
    const trail = await fx.rs.audit(result.key);
    expect(trail.find((e) => e.event === 'resolved')?.actor).toBe('reconciler');
  });

  it('absent: opens a new attempt', async () => {
    const send = timeoutThen({ status: 'absent' });
    await expect(send(6)).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect(await send(6)).toMatchObject({ value: 'fresh-2', attempt: 2, replayed: false });
  });

  it('absent inside the provider settle delay is not trusted', async () => {
    const send = timeoutThen({ status: 'absent' }, { lookupSettleMs: 60_000 });
    await expect(send(7)).rejects.toBeInstanceOf(OutcomeUnknownError);
    await expect(send(7)).rejects.toThrow(/may lag/);
    expect(attempts).toEqual([1]);
  });

  it('unknown: stays unknown for a person', async () => {
    const send = timeoutThen({ status: 'unknown', reason: 'provider 503' });
    await expect(send(8)).rejects.toBeInstanceOf(OutcomeUnknownError);
    await expect(send(8)).rejects.toThrow(/provider 503/);
    expect(attempts).toEqual([1]);
  });

  it('a vanished holder (lapsed lease) is reconciled, not re-executed', async () => {
    const send = op(() => Promise.resolve('never'), {
      leaseMs: 50,
      lookup: () => Promise.resolve({ status: 'found', value: 'the-first-attempt-did-it' }),
    });
    const key = send.keyOf(9);
    await fx.rs.list();
    const { fingerprint } = await import('../../src/index.ts');
    const begun = await fx.store.begin({
      key,
      operation: 'send@1',
      fingerprint: fingerprint(9),
      retryFailed: false,
      token: 'crashed-holder',
      leaseMs: 50,
    });
    expect(begun.reserved).toBe(true);
    await sleep(80);
    expect(await send(9)).toMatchObject({ value: 'the-first-attempt-did-it', reconciled: true });
    expect(attempts).toEqual([]);
    const events = (await fx.rs.audit(key)).map((e) => e.event);
    expect(events).toEqual(['marked_unknown', 'resolved']);
  });

  it("an operation's providerKey is the key its calls, its lookups and its results all see", async () => {
    const seen: string[] = [];
    const custom = (key: string, generation: number): string => `custom-${generation}-${key.length}`;
    const send = op(() => Promise.resolve('unused'), {
      providerKey: custom,
      call: (_id, ctx) => {
        seen.push(`call ${ctx.providerKey}`);
        return Promise.reject(new Timeout('lost'));
      },
      lookup: (_payload, ctx) => {
        seen.push(`lookup ${ctx.providerKey}`);
        return Promise.resolve({ status: 'found', value: 'it-happened' });
      },
    });
    const expected = custom(send.keyOf(11), 1);
    await expect(send(11)).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect(await send(11)).toMatchObject({ value: 'it-happened', reconciled: true, providerKey: expected });
    expect(await send(11)).toMatchObject({ replayed: true, providerKey: expected });
    expect(seen).toEqual([`call ${expected}`, `lookup ${expected}`]);
  });

  it('re-sends under the same provider key while the provider still remembers it', async () => {
    const keys: string[] = [];
    const send = op(
      (n) => (n === 1 ? Promise.reject(new Timeout('lost')) : Promise.resolve('replayed-by-provider')),
      {
        resendWithinMs: 60_000,
        call: (_id, ctx) => {
          attempts.push(ctx.attempt);
          keys.push(ctx.providerKey);
          return ctx.attempt === 1
            ? Promise.reject(new Timeout('lost'))
            : Promise.resolve('replayed-by-provider');
        },
      },
    );
    await expect(send(10)).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect(await send(10)).toMatchObject({ value: 'replayed-by-provider', attempt: 2, generation: 1 });
    expect(keys[0]).toBe(keys[1]);
  });
});

describe('manual resolution', () => {
  it('a person resolves an unknown outcome; the audit keeps who and why', async () => {
    const send = op(() => Promise.reject(new Timeout('lost')));
    await expect(send(11)).rejects.toBeInstanceOf(OutcomeUnknownError);
    const key = send.keyOf(11);
    const record = await fx.rs.resolve(key, {
      state: 'succeeded',
      result: 'seen-in-dashboard',
      providerRef: 'ch_77',
      by: 'alice',
      reason: 'ticket 77',
    });
    expect(record.state).toBe('succeeded');
    expect(await send(11)).toMatchObject({ value: 'seen-in-dashboard', replayed: true });
    const resolved = (await fx.rs.audit(key)).find((e) => e.event === 'resolved');
    expect(resolved).toMatchObject({ actor: 'alice' });
    expect(resolved?.detail).toContain('ticket 77');
    await expect(fx.rs.resolve(key, { state: 'failed', by: 'bob', reason: 'oops' })).rejects.toBeInstanceOf(
      ResolveRefusedError,
    );
  });
});

describe('lease loss', () => {
  it('a long call keeps its lease alive: others wait instead of reconciling', async () => {
    let lookups = 0;
    const slow = op(() => sleep(250).then(() => 'slow-but-alive'), {
      leaseMs: 60,
      lookup: () => {
        lookups++;
        return Promise.resolve({ status: 'absent' });
      },
    });
    const owner = slow(16);
    await sleep(30);
    const other = op(() => Promise.resolve('must-not-run'), { leaseMs: 60 }, fx.client());
    expect(await other(16)).toMatchObject({ value: 'slow-but-alive', replayed: true });
    expect(await owner).toMatchObject({ value: 'slow-but-alive', replayed: false, attempt: 1 });
    expect(lookups).toBe(0);
    expect(attempts).toEqual([1]);
  });

  /**
   * A holder (leaseMs 60, heartbeats failing) whose call waits for `release`, and a second client's
   * operation on the same key that takes the lapsed key over after a lookup answers "absent".
   */
  async function staleHolder(): Promise<{
    holder: Operation<number, string>;
    taker: Operation<number, string>;
    release: () => void;
  }> {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const { retrysafe } = await import('../../src/index.ts');
    const holder = op(
      async () => {
        await held;
        return 'late-result';
      },
      { leaseMs: 60 },
      retrysafe({ store: failing(fx.store, ['heartbeat']), namespace: 'test' }),
    );
    const taker = op(
      () => Promise.resolve('second'),
      { leaseMs: 60, lookup: () => Promise.resolve({ status: 'absent' }) },
      fx.client(),
    );
    return { holder, taker, release };
  }

  it('a holder whose lease was taken over has its late result refused and kept as evidence', async () => {
    const { holder, taker, release } = await staleHolder();
    const holderRun = holder(12).catch((e: unknown) => e);
    await sleep(120);
    expect(await taker(12)).toMatchObject({ value: 'second', attempt: 2 });
    release();
    const error = await holderRun;
    expect(error).toBeInstanceOf(LeaseLostError);
    const key = holder.keyOf(12);
    expect(await fx.rs.get(key)).toMatchObject({ state: 'succeeded', attempt: 2 });
    const late = (await fx.rs.audit(key)).find((e) => e.event === 'late_write');
    expect(late?.attempt).toBe(1);
    expect(late?.detail).toContain('late-result');
  });

  it("a caller sharing the stale holder's call gets the outcome of the attempt that took over", async () => {
    const { holder, taker, release } = await staleHolder();
    const holderRun = holder(17).catch((e: unknown) => e);
    const followerRun = holder(17).catch((e: unknown) => e);
    const secondFollowerRun = holder(17).catch((e: unknown) => e);
    await sleep(120);
    expect(await taker(17)).toMatchObject({ value: 'second', attempt: 2 });
    release();
    expect(await holderRun).toBeInstanceOf(LeaseLostError);
    expect(await followerRun).toMatchObject({ value: 'second', attempt: 2, replayed: true });
    expect(await secondFollowerRun).toMatchObject({ value: 'second', attempt: 2, replayed: true });
  });

  it('aborts the call signal when the lease cannot be renewed', async () => {
    const brokenHeartbeats = failing(fx.store, ['heartbeat']);
    const { retrysafe } = await import('../../src/index.ts');
    let reason: unknown;
    const send = op(
      () => Promise.resolve('x'),
      {
        leaseMs: 30,
        call: (_id, ctx) =>
          new Promise<string>((_resolve, reject) => {
            ctx.signal.addEventListener('abort', () => {
              reason = ctx.signal.reason;
              reject(new Error('aborted', { cause: ctx.signal.reason }));
            });
          }),
      },
      retrysafe({ store: brokenHeartbeats, namespace: 'test' }),
    );
    await expect(send(13)).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect(reason).toBeInstanceOf(LeaseLostError);
  });
});

describe('overrides', () => {
  it('needs a second person, is audited, single-use, and starts a new generation', async () => {
    const charge = fx.rs.operation<{ id: number; amount: number }, string>({
      name: 'charge',
      version: 1,
      key: (o) => ({ id: o.id }),
      call: (o, ctx) => {
        attempts.push(ctx.attempt);
        return Promise.resolve(`${o.amount}:${ctx.providerKey}`);
      },
    });
    const first = await charge({ id: 1, amount: 100 });
    await expect(charge({ id: 1, amount: 120 })).rejects.toBeInstanceOf(PayloadMismatchError);
    const request = await charge.requestOverride(
      { id: 1, amount: 120 },
      { by: 'alice', reason: 'price fix' },
    );
    await expect(fx.rs.approveOverride(request.id, { by: 'alice' })).rejects.toBeInstanceOf(
      OverrideRefusedError,
    );
    await expect(charge({ id: 1, amount: 120 })).rejects.toBeInstanceOf(PayloadMismatchError);
    await fx.rs.approveOverride(request.id, { by: 'bob' });
    const second = await charge({ id: 1, amount: 120 });
    expect(second).toMatchObject({ generation: 2, replayed: false });
    expect(second.providerKey).not.toBe(first.providerKey);
    expect(await charge({ id: 1, amount: 120 })).toMatchObject({ replayed: true });
    await expect(charge({ id: 1, amount: 100 })).rejects.toBeInstanceOf(PayloadMismatchError);
    const events = (await fx.rs.audit(first.key)).map((e) => `${e.event}:${e.actor}`);
    expect(events).toEqual(expect.arrayContaining(['override_requested:alice', 'override_approved:bob']));
    expect((await fx.rs.overrides(first.key))[0]?.status).toBe('used');
  });
});

describe('TTL and tombstones', () => {
  it('after the TTL only a tombstone answers; onTombstone can turn it into a value', async () => {
    const send = op(() => Promise.resolve('done'), { ttlMs: 40, tombstoneMs: 60_000 });
    await send(14);
    await sleep(60);
    await expect(send(14)).rejects.toBeInstanceOf(TombstoneReplayError);
    const gentle = op(() => Promise.resolve('never'), {
      ttlMs: 40,
      onTombstone: (summary) => `already ${summary.state}`,
    });
    expect(await gentle(14)).toMatchObject({ value: 'already succeeded', replayed: true });
    expect(attempts).toEqual([1]);
  });

  it('after the tombstone the key means a new logical write', async () => {
    const send = op(() => Promise.resolve('done'), { ttlMs: 20, tombstoneMs: 20 });
    await send(15);
    await sleep(60);
    expect(await send(15)).toMatchObject({ replayed: false, attempt: 2 });
  });
});

describe('diagnostics and the one-off form', () => {
  it('publishes events on retrysafe:* channels', async () => {
    const seen: string[] = [];
    const listen = (name: string) => (message: unknown) => {
      seen.push(`${name}:${(message as { key: string }).key.length > 0 ? 'k' : ''}`);
    };
    const names = ['reserve', 'settle', 'replay'] as const;
    const handlers = names.map((name) => [name, listen(name)] as const);
    for (const [name, handler] of handlers) diagnostics.subscribe(`retrysafe:${name}`, handler);
    try {
      const result = await fx.rs.once(
        { name: 'welcome-mail', version: 1, key: { user: 42 }, payload: { to: 'a@b.c' } },
        (ctx) => Promise.resolve(`sent ${ctx.attempt}`),
      );
      const again = await fx.rs.once(
        { name: 'welcome-mail', version: 1, key: { user: 42 }, payload: { to: 'a@b.c' } },
        () => Promise.resolve('twice?'),
      );
      expect(result.value).toBe('sent 1');
      expect(again).toMatchObject({ value: 'sent 1', replayed: true });
    } finally {
      for (const [name, handler] of handlers) diagnostics.unsubscribe(`retrysafe:${name}`, handler);
    }
    expect(seen).toEqual(['reserve:k', 'settle:k', 'replay:k']);
  });
});

describe('default classification', () => {
  it('finds a refused connection behind fetch (cause) and the Stripe SDK (detail)', () => {
    const refusedSocket = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(defaultClassify(new TypeError('fetch failed', { cause: refusedSocket }))).toBe('not_performed');
    expect(defaultClassify(Object.assign(new Error('connection error'), { detail: refusedSocket }))).toBe(
      'not_performed',
    );
    expect(defaultClassify(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(
      'unknown',
    );
    expect(defaultClassify('a string')).toBe('unknown');
  });
});
