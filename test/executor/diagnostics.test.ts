import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import {
  channels,
  OutcomeUnknownError,
  PayloadMismatchError,
  subscribe,
  type CallEndMessage,
  type ChannelMessages,
  type DiagnosticsChannelName,
  type MessageOf,
  type SettleMessage,
} from '../../src/index.ts';
import { sqliteFixture, type Fixture } from './fixtures.ts';

/** Every channel, as subscribers see them: the message map's names. */
const NAMES: readonly DiagnosticsChannelName[] = [
  'retrysafe:call-start',
  'retrysafe:call-end',
  'retrysafe:reserve',
  'retrysafe:replay',
  'retrysafe:settle',
  'retrysafe:settle-failed',
  'retrysafe:unknown',
  'retrysafe:reconcile',
  'retrysafe:wait',
  'retrysafe:lease-lost',
  'retrysafe:timeout',
  'retrysafe:late-result',
  'retrysafe:rekey',
  'retrysafe:mismatch',
  'retrysafe:refused',
];

type Seen = {
  readonly [N in DiagnosticsChannelName]: readonly [N, ChannelMessages[N]];
}[DiagnosticsChannelName];

let fx: Fixture;
let seen: Seen[];
let stops: (() => void)[];

beforeEach(() => {
  fx = sqliteFixture();
  seen = [];
  stops = NAMES.map((name) =>
    subscribe(name, (message, channel) => {
      seen.push([channel, message] as Seen);
    }),
  );
});
afterEach(async () => {
  for (const stop of stops) stop();
  await fx.close();
});

class Timeout extends Error {}

// Asymmetric matchers, typed as what they match against.
const aString: unknown = expect.any(String);
const aNumber: unknown = expect.any(Number);
const aFingerprint: unknown = expect.stringMatching(/^sha256:/);

function send(rs = fx.rs) {
  return rs.operation<{ id: number; amount: number }, string>({
    name: 'charge',
    version: 1,
    key: ({ id }) => ({ id }),
    call: (input, ctx) =>
      input.amount < 0 ? Promise.reject(new Timeout('no answer')) : Promise.resolve(`ch_${ctx.attempt}`),
    classify: () => 'unknown',
    resendAttempts: 0,
  });
}

const names = () => seen.map(([name]) => name);
const messageOf = <N extends DiagnosticsChannelName>(name: N, index = 0): ChannelMessages[N] => {
  const found = seen.filter((entry): entry is Extract<Seen, readonly [N, unknown]> => entry[0] === name);
  const message = found[index]?.[1];
  if (message === undefined) throw new Error(`no message ${index} on ${name}: saw ${names().join(', ')}`);
  return message as ChannelMessages[N];
};

describe('diagnostics: a call on a real SQLite store', () => {
  it('brackets a performed call with call-start and call-end, each message with its documented shape', async () => {
    const charge = send();
    const result = await charge({ id: 1, amount: 5 });
    expect(names()).toEqual([
      'retrysafe:call-start',
      'retrysafe:reserve',
      'retrysafe:settle',
      'retrysafe:call-end',
    ]);
    const start = messageOf('retrysafe:call-start');
    expect(start).toStrictEqual({ id: aString, key: result.key, operation: 'charge@1' });
    expect(messageOf('retrysafe:reserve')).toStrictEqual({
      key: result.key,
      operation: 'charge@1',
      attempt: 1,
      generation: result.generation,
    });
    expect(messageOf('retrysafe:settle')).toStrictEqual({
      key: result.key,
      operation: 'charge@1',
      attempt: 1,
      state: 'succeeded',
      durationMs: aNumber,
    });
    const end = messageOf('retrysafe:call-end');
    expect(end).toStrictEqual({
      id: start.id,
      key: result.key,
      operation: 'charge@1',
      outcome: 'performed',
      durationMs: aNumber,
      attempt: 1,
      generation: result.generation,
      code: null,
    });
    expect(end.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('ends a replay as replayed, under a new id', async () => {
    const charge = send();
    await charge({ id: 2, amount: 5 });
    const first = messageOf('retrysafe:call-start').id;
    seen = [];
    await charge({ id: 2, amount: 5 });
    expect(names()).toEqual(['retrysafe:call-start', 'retrysafe:replay', 'retrysafe:call-end']);
    expect(messageOf('retrysafe:replay')).toStrictEqual({
      key: aString,
      operation: 'charge@1',
      state: 'succeeded',
      attempt: 1,
    });
    const end = messageOf('retrysafe:call-end');
    expect(end).toMatchObject({ id: messageOf('retrysafe:call-start').id, outcome: 'replayed', attempt: 1 });
    expect(end.id).not.toBe(first);
  });

  it('ends a refused call as an error with its code and the error itself', async () => {
    const charge = send();
    await charge({ id: 3, amount: 5 });
    seen = [];
    const error = await charge({ id: 3, amount: 6 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadMismatchError);
    expect(names()).toEqual(['retrysafe:call-start', 'retrysafe:mismatch', 'retrysafe:call-end']);
    expect(messageOf('retrysafe:mismatch')).toStrictEqual({
      key: aString,
      operation: 'charge@1',
      fingerprint: aFingerprint,
      stored: aFingerprint,
    });
    expect(messageOf('retrysafe:call-end')).toStrictEqual({
      id: messageOf('retrysafe:call-start').id,
      key: aString,
      operation: 'charge@1',
      outcome: 'error',
      durationMs: aNumber,
      attempt: null,
      generation: null,
      code: 'RS_PAYLOAD_MISMATCH',
      error,
    });
  });

  it('reports an unknown outcome on settle, unknown and call-end', async () => {
    const error = await send()({ id: 4, amount: -1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutcomeUnknownError);
    expect(names()).toEqual([
      'retrysafe:call-start',
      'retrysafe:reserve',
      'retrysafe:settle',
      'retrysafe:unknown',
      'retrysafe:call-end',
    ]);
    expect(messageOf('retrysafe:settle').state).toBe('unknown');
    expect(messageOf('retrysafe:unknown')).toStrictEqual({
      key: aString,
      operation: 'charge@1',
      attempt: 1,
      reason: aString,
    });
    expect(messageOf('retrysafe:call-end')).toMatchObject({ outcome: 'error', code: 'RS_OUTCOME_UNKNOWN' });
  });

  it('pairs concurrent calls by id, and a tracer bound to call-start has its span active inside the call', async () => {
    // What an OpenTelemetry bridge does: the start message becomes the active context for the whole call.
    const active = new AsyncLocalStorage<string>();
    channels.callStart.bindStore(active, (message) => (message as MessageOf<'callStart'>).id);
    const insideCall: (string | undefined)[] = [];
    try {
      const rs = fx.rs;
      const traced = rs.operation<number, string>({
        name: 'traced',
        version: 1,
        key: (id) => ({ id }),
        call: async (id) => {
          await new Promise((resolve) => setImmediate(resolve));
          insideCall.push(active.getStore());
          return `done ${id}`;
        },
      });
      await Promise.all([traced(1), traced(2), traced(3)]);
    } finally {
      channels.callStart.unbindStore(active);
    }
    const starts = seen.filter(([name]) => name === 'retrysafe:call-start').map(([, m]) => m);
    const ends = seen.filter(([name]) => name === 'retrysafe:call-end').map(([, m]) => m as CallEndMessage);
    const ids = starts.map((m) => (m as MessageOf<'callStart'>).id);
    expect(new Set(ids).size).toBe(3);
    expect(ends.map((m) => m.id).sort()).toEqual([...ids].sort());
    for (const end of ends) {
      const start = starts.find((m) => (m as MessageOf<'callStart'>).id === end.id);
      expect(start).toMatchObject({ key: end.key, operation: end.operation });
      expect(end.outcome).toBe('performed');
    }
    expect([...insideCall].sort()).toEqual([...ids].sort());
    expect(active.getStore()).toBeUndefined();
  });

  it('publishes nothing once unsubscribed, and subscribe types each listener by its channel', async () => {
    for (const stop of stops) stop();
    stops = [];
    await send()({ id: 5, amount: 5 });
    expect(seen).toEqual([]);
    expect(diagnostics.hasSubscribers('retrysafe:call-end')).toBe(false);
    expectTypeOf<MessageOf<'settle'>>().toEqualTypeOf<SettleMessage>();
    expectTypeOf<
      Parameters<Parameters<typeof subscribe<'retrysafe:settle'>>[1]>[0]
    >().toEqualTypeOf<SettleMessage>();
    expect(Object.keys(channels).length).toBe(NAMES.length);
  });
});
