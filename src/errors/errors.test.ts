import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { IdempotencyRecord } from '../machine/record.ts';
import {
  ConfigurationError,
  ErrorCode,
  InFlightError,
  InvalidKeyInputError,
  LeaseLostError,
  OperationFailedError,
  OutcomeUnknownError,
  OverrideRefusedError,
  PayloadMismatchError,
  RetrySafeError,
  StoreUnavailableError,
  TombstoneReplayError,
  WaitTimeoutError,
} from './errors.ts';

const record: IdempotencyRecord = {
  key: 'rs1:billing:charge-order@1:-:abcd',
  operation: 'charge-order@1',
  fingerprint: 'sha256:aaaa',
  state: 'unknown',
  attempt: 2,
  generation: 1,
  leaseOwner: null,
  leaseUntil: null,
  result: null,
  request: null,
  keyFields: null,
  providerRef: 'ch_123',
  reason: 'timeout after send',
  overrideFingerprint: null,
  keyEvidence: null,
  overrideAttempt: null,
  createdAt: 1,
  updatedAt: 2,
  expiresAt: null,
  tombstoneUntil: null,
};
const failure = { name: 'CardDeclined', message: 'insufficient funds', code: 'card_declined', status: 402 };

describe('error codes', () => {
  it('are distinct RS_ strings', () => {
    const codes = Object.values(ErrorCode);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^RS_[A-Z_]+$/);
  });
});

describe('each error', () => {
  const cause = new Error('socket hang up');
  const cases: readonly (readonly [RetrySafeError, ErrorCode, string, IdempotencyRecord | undefined])[] = [
    [new PayloadMismatchError('sha256:bbbb', record), 'RS_PAYLOAD_MISMATCH', 'PayloadMismatchError', record],
    [new InFlightError(record), 'RS_IN_FLIGHT', 'InFlightError', record],
    [new WaitTimeoutError(record, 5_000), 'RS_WAIT_TIMEOUT', 'WaitTimeoutError', record],
    [new OutcomeUnknownError(record), 'RS_OUTCOME_UNKNOWN', 'OutcomeUnknownError', record],
    [new LeaseLostError(record.key, 1, record, { cause }), 'RS_LEASE_LOST', 'LeaseLostError', record],
    [new LeaseLostError(record.key, 1, undefined), 'RS_LEASE_LOST', 'LeaseLostError', undefined],
    [
      new StoreUnavailableError('store down', cause),
      'RS_STORE_UNAVAILABLE',
      'StoreUnavailableError',
      undefined,
    ],
    [new InvalidKeyInputError('bad', '/a'), 'RS_INVALID_KEY_INPUT', 'InvalidKeyInputError', undefined],
    [new ConfigurationError('leaseMs must be positive'), 'RS_CONFIGURATION', 'ConfigurationError', undefined],
    [new OperationFailedError(failure, record, false), 'RS_OPERATION_FAILED', 'OperationFailedError', record],
    [new TombstoneReplayError(record), 'RS_TOMBSTONE_REPLAY', 'TombstoneReplayError', record],
    [
      new OverrideRefusedError('same approver', record),
      'RS_OVERRIDE_REFUSED',
      'OverrideRefusedError',
      record,
    ],
    [new OverrideRefusedError('no such request'), 'RS_OVERRIDE_REFUSED', 'OverrideRefusedError', undefined],
  ];

  it.each(cases.map(([error, code, name, attached]) => [name, code, error, attached] as const))(
    '%s has code %s, its name, the record, and is an Error and a RetrySafeError',
    (name, code, error, attached) => {
      expect(error.code).toBe(code);
      expect(error.name).toBe(name);
      expect(error.fullRecord()).toBe(attached);
      expect(error.record?.state).toBe(attached?.state);
      expect(error).toBeInstanceOf(Error);
      expect(error).toBeInstanceOf(RetrySafeError);
      expect(error.message.length).toBeGreaterThan(0);
      expect(error.stack).toContain(name);
    },
  );
});

describe('details carried by the errors', () => {
  it('PayloadMismatchError names both fingerprints', () => {
    const error = new PayloadMismatchError('sha256:bbbb', record);
    expect(error.fingerprint).toBe('sha256:bbbb');
    expect(error.message).toContain('sha256:aaaa');
    expect(error.message).toContain('sha256:bbbb');
  });

  it('WaitTimeoutError is an InFlightError with its own code', () => {
    const error = new WaitTimeoutError(record, 5_000);
    expect(error).toBeInstanceOf(InFlightError);
    expect(error.code).toBe(ErrorCode.WaitTimeout);
    expect(error.message).toContain('5000 ms');
    expect(new InFlightError(record)).not.toBeInstanceOf(WaitTimeoutError);
  });

  it('OutcomeUnknownError includes the reason when there is one', () => {
    expect(new OutcomeUnknownError(record).message).toContain('timeout after send');
    expect(new OutcomeUnknownError({ ...record, reason: null }).message).not.toContain('(');
    expect(new OutcomeUnknownError(record, 'custom').message).toBe('custom');
  });

  it('LeaseLostError and StoreUnavailableError keep their cause', () => {
    const cause = new Error('boom');
    expect(new LeaseLostError(record.key, 1, record, { cause }).cause).toBe(cause);
    expect(new LeaseLostError(record.key, 1, record).message).toContain('attempt 2, unknown');
    expect(new StoreUnavailableError('down', cause).cause).toBe(cause);
    expect(new ConfigurationError('x')).not.toHaveProperty('cause');
  });

  it('InvalidKeyInputError has a JSON-pointer path, empty for the root', () => {
    expect(new InvalidKeyInputError('bad').path).toBe('');
    expect(new InvalidKeyInputError('bad').message).toBe('bad');
    expect(new InvalidKeyInputError('bad', '/a/0').message).toBe('bad at /a/0');
  });

  it('OperationFailedError carries the failure summary, replay flag and original cause', () => {
    const cause = new Error('402');
    const first = new OperationFailedError(failure, record, false, cause);
    expect(first).toMatchObject({ failure, replayed: false, cause });
    const replay = new OperationFailedError(failure, record, true);
    expect(replay.replayed).toBe(true);
    expect(replay.message).toContain('(replayed)');
  });

  it('TombstoneReplayError names the provider reference when known', () => {
    expect(new TombstoneReplayError(record).message).toContain('ch_123');
    expect(new TombstoneReplayError({ ...record, providerRef: null }).message).not.toContain('provider ref');
  });
});

describe('instanceof across copies of the package', () => {
  const brand = Symbol.for('retrysafe.error');

  it('recognises any object carrying the registered brand as a RetrySafeError', () => {
    const foreign = new Error('from another copy');
    Object.defineProperty(foreign, brand, { value: true });
    expect(foreign instanceof RetrySafeError).toBe(true);
    // Subclasses keep their prototype check: a foreign object is not one of ours.
    expect(foreign instanceof PayloadMismatchError).toBe(false);
    expect(foreign instanceof InFlightError).toBe(false);
  });

  it('does not recognise unbranded errors or non-objects', () => {
    expect(new Error('plain') instanceof RetrySafeError).toBe(false);
    expect(Object.assign(new Error('look-alike'), { code: 'RS_IN_FLIGHT' }) instanceof RetrySafeError).toBe(
      false,
    );
    // `instanceof` calls Symbol.hasInstance; TypeScript only allows objects on its left-hand side.
    for (const value of [null, undefined, 'RS_IN_FLIGHT', 42, Symbol.for('retrysafe.error')]) {
      expect(RetrySafeError[Symbol.hasInstance](value)).toBe(false);
    }
  });

  type ErrorsModule = typeof import('./errors.ts');
  /** One instance of every error class, made by the given copy of the module. */
  function everyError(m: ErrorsModule): Record<string, RetrySafeError> {
    return {
      RetrySafeError: new m.RetrySafeError(m.ErrorCode.Configuration, 'base'),
      PayloadMismatchError: new m.PayloadMismatchError('sha256:bbbb', record),
      InFlightError: new m.InFlightError(record),
      WaitTimeoutError: new m.WaitTimeoutError(record, 10),
      OutcomeUnknownError: new m.OutcomeUnknownError(record),
      LeaseLostError: new m.LeaseLostError(record.key, 1, record),
      StoreUnavailableError: new m.StoreUnavailableError('down', new Error('x')),
      InvalidKeyInputError: new m.InvalidKeyInputError('bad'),
      PayloadTooLargeError: new m.PayloadTooLargeError('payload', 10, 5, 'maxPayloadBytes'),
      AttemptTimeoutError: new m.AttemptTimeoutError(record.key, 1, 10),
      LookupTimeoutError: new m.LookupTimeoutError(record.key, 10),
      ConfigurationError: new m.ConfigurationError('bad option'),
      OperationFailedError: new m.OperationFailedError(failure, record, false),
      TombstoneReplayError: new m.TombstoneReplayError(record),
      OverrideRefusedError: new m.OverrideRefusedError('refused'),
      ResolveRefusedError: new m.ResolveRefusedError('refused'),
    };
  }
  const errorClasses = (m: ErrorsModule): [string, typeof RetrySafeError][] =>
    Object.entries(m).filter(
      (entry): entry is [string, typeof RetrySafeError] =>
        typeof entry[1] === 'function' &&
        (entry[1] === m.RetrySafeError ||
          Object.prototype.isPrototypeOf.call(m.RetrySafeError.prototype, entry[1].prototype)),
    );

  it('every error class answers instanceof for errors from a real second copy as for its own', async () => {
    // A query string makes the module loader evaluate errors.ts again: new classes, same registered brands.
    const specifier = './errors.ts?second-copy';
    const copy = (await import(/* @vite-ignore */ specifier)) as ErrorsModule;
    const own = await import('./errors.ts');
    expect(copy.OutcomeUnknownError).not.toBe(own.OutcomeUnknownError);
    const classes = errorClasses(own);
    // The table above covers every exported error class.
    expect(Object.keys(everyError(own)).sort()).toEqual(classes.map(([name]) => name).sort());
    const checked: string[] = [];
    for (const [maker, other] of [
      [own, copy],
      [copy, own],
    ] as const) {
      for (const [made, error] of Object.entries(everyError(maker))) {
        for (const [name] of classes) {
          const sameCopy = error instanceof (maker[name as keyof ErrorsModule] as typeof RetrySafeError);
          const otherCopy = error instanceof (other[name as keyof ErrorsModule] as typeof RetrySafeError);
          expect(otherCopy, `${made} instanceof ${name} of the other copy`).toBe(sameCopy);
          if (sameCopy) checked.push(`${made}:${name}`);
        }
      }
    }
    expect(checked).toContain('OutcomeUnknownError:OutcomeUnknownError');
    expect(checked).toContain('WaitTimeoutError:InFlightError');
    expect(checked).not.toContain('InFlightError:WaitTimeoutError');
    expect(checked).not.toContain('OutcomeUnknownError:LeaseLostError');
  });

  it('a subclass of your own keeps ordinary prototype semantics', async () => {
    const specifier = './errors.ts?third-copy';
    const copy = (await import(/* @vite-ignore */ specifier)) as ErrorsModule;
    class PagedUnknown extends OutcomeUnknownError {}
    const mine = new PagedUnknown(record);
    expect(mine instanceof PagedUnknown).toBe(true);
    expect(mine instanceof copy.OutcomeUnknownError).toBe(true);
    expect(mine instanceof copy.RetrySafeError).toBe(true);
    expect(new OutcomeUnknownError(record) instanceof PagedUnknown).toBe(false);
    expect(new copy.OutcomeUnknownError(record) instanceof PagedUnknown).toBe(false);
  });

  it('code is the same string in every copy, so branching on it needs no class', async () => {
    const specifier = './errors.ts?fourth-copy';
    const copy = (await import(/* @vite-ignore */ specifier)) as ErrorsModule;
    expect(copy.ErrorCode).toEqual(ErrorCode);
    const ours = everyError(await import('./errors.ts'));
    for (const [name, error] of Object.entries(everyError(copy))) {
      expect(error.code, name).toBe(ours[name]?.code);
      expect(JSON.parse(JSON.stringify(error)), name).toMatchObject({ code: error.code });
    }
  });

  it('keeps the brand out of sight: a non-enumerable, read-only own symbol', () => {
    const error = new InFlightError(record);
    expect(Object.getOwnPropertyDescriptor(error, brand)).toMatchObject({
      value: true,
      enumerable: false,
      writable: false,
    });
  });
});

describe('errors carry a summary of the record, not its stored request or result', () => {
  const stored: IdempotencyRecord = {
    ...record,
    state: 'succeeded',
    request: JSON.stringify({ card: '4242424242424242', amount: 500 }),
    result: JSON.stringify({ value: { id: 'pi_1', clientSecret: 'pi_1_secret_XYZ' } }),
  };
  const errors: RetrySafeError[] = [
    new PayloadMismatchError('sha256:bbbb', stored),
    new OutcomeUnknownError({ ...stored, state: 'unknown' }),
    new InFlightError({ ...stored, state: 'in_flight' }),
    new WaitTimeoutError({ ...stored, state: 'in_flight' }, 10),
    new LeaseLostError(stored.key, 1, stored),
    new OperationFailedError(failure, { ...stored, state: 'failed' }, true),
    new TombstoneReplayError(stored),
    new OverrideRefusedError('refused', stored),
  ];
  it.each(errors.map((error) => [error.name, error] as const))(
    '%s: JSON.stringify and util.inspect show no payload or result',
    (_name, error) => {
      for (const text of [JSON.stringify(error), inspect(error, { depth: 10, showHidden: true })]) {
        expect(text).not.toContain('4242424242424242');
        expect(text).not.toContain('pi_1_secret_XYZ');
      }
      expect(error.code).toMatch(/^RS_/);
      expect(JSON.parse(JSON.stringify(error))).toMatchObject({
        code: error.code,
        record: { key: stored.key, attempt: stored.attempt, fingerprint: 'sha256:aaaa', hasResult: true },
      });
      expect(error.record).not.toHaveProperty('request');
      expect(error.record).not.toHaveProperty('result');
    },
  );

  it('the whole record only when asked for explicitly', () => {
    const error = new PayloadMismatchError('sha256:bbbb', stored);
    expect(error.fullRecord()?.result).toBe(stored.result);
    expect(error.fullRecord()?.request).toBe(stored.request);
  });
});
