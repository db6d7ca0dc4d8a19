import type { IdempotencyRecord, RecordState } from '../machine/record.ts';

/** Marks every retrysafe error, whichever copy of the package made it (older copies set only this one). */
const BRAND = Symbol.for('retrysafe.error');
/** On an error: the class brands of its whole chain (`['retrysafe.WaitTimeoutError', 'retrysafe.InFlightError', ...]`). */
const CLASS_BRANDS: unique symbol = Symbol.for('retrysafe.error.classes');
/** On each retrysafe error class (own static): its brand, the same string in every copy of the package. */
const CLASS_BRAND: unique symbol = Symbol.for('retrysafe.error.class');

/** Every error retrysafe raises carries one of these codes. */
export const ErrorCode = {
  PayloadMismatch: 'RS_PAYLOAD_MISMATCH',
  InFlight: 'RS_IN_FLIGHT',
  WaitTimeout: 'RS_WAIT_TIMEOUT',
  OutcomeUnknown: 'RS_OUTCOME_UNKNOWN',
  LeaseLost: 'RS_LEASE_LOST',
  StoreUnavailable: 'RS_STORE_UNAVAILABLE',
  InvalidKeyInput: 'RS_INVALID_KEY_INPUT',
  Configuration: 'RS_CONFIGURATION',
  OperationFailed: 'RS_OPERATION_FAILED',
  TombstoneReplay: 'RS_TOMBSTONE_REPLAY',
  OverrideRefused: 'RS_OVERRIDE_REFUSED',
  ResolveRefused: 'RS_RESOLVE_REFUSED',
  AttemptTimeout: 'RS_ATTEMPT_TIMEOUT',
  LookupTimeout: 'RS_LOOKUP_TIMEOUT',
  PayloadTooLarge: 'RS_PAYLOAD_TOO_LARGE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

interface RetrySafeErrorOptions extends ErrorOptions {
  readonly record?: IdempotencyRecord | undefined;
}

/**
 * What an error tells about the record it concerns: its state, attempt and fingerprints, never its stored
 * request or result (customer data, another caller's result). `error.fullRecord()` returns the whole
 * record for a caller that asks for it explicitly.
 */
export interface RecordSummary {
  readonly key: string;
  readonly operation: string;
  readonly state: RecordState;
  readonly attempt: number;
  readonly generation: number;
  /** Fingerprint of the stored payload. */
  readonly fingerprint: string;
  /** Fingerprint an approved override lets through, if any. */
  readonly overrideFingerprint: string | null;
  /** The provider's id of the write (charge id), when known. */
  readonly providerRef: string | null;
  readonly reason: string | null;
  readonly leaseUntil: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Whether the record holds a stored request / a stored result (available through `fullRecord()`). */
  readonly hasRequest: boolean;
  readonly hasResult: boolean;
}

/** The summary of a record an error may carry and print. */
export function summarizeRecord(record: IdempotencyRecord): RecordSummary {
  return Object.freeze({
    key: record.key,
    operation: record.operation,
    state: record.state,
    attempt: record.attempt,
    generation: record.generation,
    fingerprint: record.fingerprint,
    overrideFingerprint: record.overrideFingerprint,
    providerRef: record.providerRef,
    reason: record.reason,
    leaseUntil: record.leaseUntil,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    hasRequest: record.request !== null,
    hasResult: record.result !== null,
  });
}

/**
 * Base class of every error retrysafe raises. `instanceof` works across duplicate installs of the
 * package, for this class and every subclass, because the check uses registered symbols, not the class
 * identity. A subclass of your own keeps ordinary prototype semantics. `code` is the other way to
 * branch: a plain string, the same in every copy and every version, and it survives serialization.
 *
 * An error carries a summary of its record (`record`: state, attempt, fingerprints), never the stored
 * request or result: errors are logged, serialized and shown to whoever collided on a key, and the stored
 * payload and result are customer data, possibly another caller's. `fullRecord()` returns the whole
 * record to a caller that asks for it explicitly; `JSON.stringify` and `util.inspect` never show it.
 *
 * @example
 * ```ts
 * try { await charge(order) } catch (err) {
 *   if (err instanceof RetrySafeError && err.code === 'RS_OUTCOME_UNKNOWN') page(err.record) // summary
 *   // Only where the stored payload and result may be seen (an operator tool, not a log line):
 *   const stored = err instanceof RetrySafeError ? err.fullRecord()?.result : undefined
 * }
 * ```
 */
export class RetrySafeError extends Error {
  readonly code: ErrorCode;
  /** A summary of the stored record the error concerns, when there is one (no request, no result). */
  readonly record: RecordSummary | undefined;
  readonly #record: IdempotencyRecord | undefined;

  constructor(code: ErrorCode, message: string, options: RetrySafeErrorOptions = {}) {
    super(
      withCause(message, options.cause),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = new.target.name;
    this.code = code;
    this.#record = options.record;
    this.record = options.record === undefined ? undefined : summarizeRecord(options.record);
    Object.defineProperty(this, BRAND, { value: true });
    Object.defineProperty(this, CLASS_BRANDS, { value: Object.freeze(classBrands(new.target)) });
  }

  /**
   * The whole stored record, with its request and result: customer data, and on a collision possibly
   * another caller's. Ask for it only where that may be seen; never log it.
   */
  fullRecord(): IdempotencyRecord | undefined {
    return this.#record;
  }

  static readonly [CLASS_BRAND]: string = 'retrysafe.RetrySafeError';

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null || !(BRAND in value)) return false;
    if (this === RetrySafeError || Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    // A class of ours (its own brand, not one inherited by a user's subclass) also recognises errors made
    // by another copy of the package whose chain carries the same brand.
    if (!Object.hasOwn(this, CLASS_BRAND)) return false;
    const brands: unknown = (value as { [CLASS_BRANDS]?: unknown })[CLASS_BRANDS];
    return Array.isArray(brands) && brands.includes((this as { [CLASS_BRAND]: string })[CLASS_BRAND]);
  }
}

/** The brands of `target` and every class above it that has one of its own. */
function classBrands(target: object): string[] {
  const brands: string[] = [];
  for (
    let current: object | null = target;
    current !== null;
    current = Object.getPrototypeOf(current) as object | null
  ) {
    if (Object.hasOwn(current, CLASS_BRAND)) brands.push((current as { [CLASS_BRAND]: string })[CLASS_BRAND]);
  }
  return brands;
}

/**
 * The message with the cause's own words after it (`…: connect ECONNREFUSED 127.0.0.1:5999`), so a log
 * line that shows only `message` still says what failed. An `AggregateError` (a connection tried on
 * several addresses) contributes its errors' messages; a cause already quoted is not repeated.
 */
function withCause(message: string, cause: unknown): string {
  const words = causeText(cause);
  return words === '' || message.includes(words) ? message : `${message}: ${words}`;
}

function causeText(cause: unknown): string {
  if (cause instanceof AggregateError && cause.message === '') {
    return [...new Set(cause.errors.map(causeText).filter((text) => text !== ''))].join('; ');
  }
  if (cause instanceof Error) return cause.message;
  return typeof cause === 'string' ? cause : '';
}

/** The key exists with a different payload fingerprint; nothing was sent. */
export class PayloadMismatchError extends RetrySafeError {
  static override readonly [CLASS_BRAND]: string = 'retrysafe.PayloadMismatchError';
  /** Fingerprint of the payload that was refused. */
  readonly fingerprint: string;
  constructor(fingerprint: string, record: IdempotencyRecord) {
    super(
      ErrorCode.PayloadMismatch,
      `key ${record.key} already holds payload ${record.fingerprint}; refusing ${fingerprint} ` +
        `(an approved override is the only way to change it)`,
      { record },
    );
    this.fingerprint = fingerprint;
  }
}

/** Another attempt holds a live lease on the key and waiting was not allowed. */
export class InFlightError extends RetrySafeError {
  static override readonly [CLASS_BRAND]: string = 'retrysafe.InFlightError';
  constructor(record: IdempotencyRecord, message?: string, code: ErrorCode = ErrorCode.InFlight) {
    super(code, message ?? `key ${record.key} is in flight (attempt ${record.attempt})`, { record });
  }
}

/** Waiting for the in-flight owner took longer than the operation's `waitMs`. */
export class WaitTimeoutError extends InFlightError {
  static override readonly [CLASS_BRAND]: string = 'retrysafe.WaitTimeoutError';
  constructor(record: IdempotencyRecord, waitedMs: number) {
    super(
      record,
      `gave up after waiting ${waitedMs} ms for key ${record.key} (attempt ${record.attempt} still in flight)`,
      ErrorCode.WaitTimeout,
    );
  }
}

/**
 * The outcome of an earlier attempt could not be established. Nothing is re-executed until a provider
 * lookup or a person (`resolve`) settles it.
 */
export class OutcomeUnknownError extends RetrySafeError {
  static override readonly [CLASS_BRAND]: string = 'retrysafe.OutcomeUnknownError';
  constructor(record: IdempotencyRecord, message?: string, options?: ErrorOptions) {
    super(
      ErrorCode.OutcomeUnknown,
      message ??
        `outcome of key ${record.key} attempt ${record.attempt} is unknown` +
          (record.reason === null ? '' : ` (${record.reason})`) +
          '; reconcile it or resolve it by hand',
      { record, cause: options?.cause },
    );
  }
}

/** This attempt's lease was taken over; its late write was refused and kept as evidence. */
export class LeaseLostError extends RetrySafeError {
  static override readonly [CLASS_BRAND]: string = 'retrysafe.LeaseLostError';
  constructor(key: string, attempt: number, record: IdempotencyRecord | undefined, options?: ErrorOptions) {
    super(
      ErrorCode.LeaseLost,
      `attempt ${attempt} of key ${key} lost its lease` +
        (record === undefined ? '' : ` (the record is now at attempt ${record.attempt}, ${record.state})`),
      { record, cause: options?.cause },
    );
  }
}

/** The store could not be reached or failed; no downstream call was made (fail closed). */
export class StoreUnavailableError extends RetrySafeError {
  static override readonly [CLASS_BRAND]: string = 'retrysafe.StoreUnavailableError';
  constructor(message: string, cause: unknown) {
    super(ErrorCode.StoreUnavailable, message, { cause });
  }
}

/** Key or payload input that cannot be canonicalized, or is out of bounds. Nothing was reserved. */
export class InvalidKeyInputError extends RetrySafeError {
  static override readonly [CLASS_BRAND]: string = 'retrysafe.InvalidKeyInputError';
  /** JSON-pointer-like path of the offending value, `''` for the root. */
  readonly path: string;
  constructor(message: string, path = '') {
    super(ErrorCode.InvalidKeyInput, path === '' ? message : `${message} at ${path}`);
    this.path = path;
  }
}

/**
 * A payload (or a result given by hand to `resolve`) is larger than the operation's limit
 * (`maxPayloadBytes`, `maxResultBytes`). Nothing was reserved, sent or stored.
 */
export class PayloadTooLargeError extends RetrySafeError {
  static override readonly [CLASS_BRAND]: string = 'retrysafe.PayloadTooLargeError';
  /** UTF-8 bytes of the canonical form. */
  readonly bytes: number;
  readonly limit: number;
  constructor(what: string, bytes: number, limit: number, option: string) {
    super(
      ErrorCode.PayloadTooLarge,
      `the ${what} is ${bytes} bytes, over the limit of ${limit} (${option}); nothing was reserved, sent or stored`,
    );
    this.bytes = bytes;
    this.limit = limit;
  }
}

/**
 * The reason a call's `signal` is aborted with when its attempt passed `attemptTimeoutMs`: the attempt
 * is recorded `unknown` (no answer) and reconciled as usual (SEMANTICS.md, invariant 13).
 */
export class AttemptTimeoutError extends RetrySafeError {
  static override readonly [CLASS_BRAND]: string = 'retrysafe.AttemptTimeoutError';
  readonly timeoutMs: number;
  constructor(key: string, attempt: number, timeoutMs: number) {
    super(
      ErrorCode.AttemptTimeout,
      `attempt ${attempt} of key ${key} got no answer within attemptTimeoutMs (${timeoutMs} ms)`,
    );
    this.timeoutMs = timeoutMs;
  }
}

/** The reason a lookup's `signal` is aborted with past `lookupTimeoutMs`; the lookup then answers unknown. */
export class LookupTimeoutError extends RetrySafeError {
  static override readonly [CLASS_BRAND]: string = 'retrysafe.LookupTimeoutError';
  readonly timeoutMs: number;
  constructor(key: string, timeoutMs: number) {
    super(
      ErrorCode.LookupTimeout,
      `lookup for key ${key} got no answer within lookupTimeoutMs (${timeoutMs} ms)`,
    );
    this.timeoutMs = timeoutMs;
  }
}

/** An operation or store was declared with options that cannot work. */
export class ConfigurationError extends RetrySafeError {
  static override readonly [CLASS_BRAND]: string = 'retrysafe.ConfigurationError';
  constructor(message: string) {
    super(ErrorCode.Configuration, message);
  }
}

/** Summary of a definitive failure as stored and replayed. */
export interface FailureSummary {
  readonly name: string;
  readonly message: string;
  readonly code?: string | number;
  readonly status?: number;
}

/**
 * The provider definitively refused the write (classified `failed`). The first attempt carries the
 * original error as `cause`; replays carry only the stored `failure` summary.
 */
export class OperationFailedError extends RetrySafeError {
  static override readonly [CLASS_BRAND]: string = 'retrysafe.OperationFailedError';
  readonly failure: FailureSummary;
  readonly replayed: boolean;
  constructor(failure: FailureSummary, record: IdempotencyRecord, replayed: boolean, cause?: unknown) {
    super(
      ErrorCode.OperationFailed,
      `key ${record.key} failed: ${failure.name}: ${failure.message}` + (replayed ? ' (replayed)' : ''),
      { record, cause },
    );
    this.failure = failure;
    this.replayed = replayed;
  }
}

/**
 * The key was settled long ago and only its compact tombstone remains: the write happened (or was
 * refused) but the full result is gone. Declare `onTombstone` to turn the summary into a value.
 */
export class TombstoneReplayError extends RetrySafeError {
  static override readonly [CLASS_BRAND]: string = 'retrysafe.TombstoneReplayError';
  constructor(record: IdempotencyRecord) {
    super(
      ErrorCode.TombstoneReplay,
      `key ${record.key} was already ${record.state}` +
        (record.providerRef === null ? '' : ` (provider ref ${record.providerRef})`) +
        (record.reason === null ? '' : ` (${record.reason})`) +
        '; only its outcome summary is kept, so the result cannot be replayed',
      { record },
    );
  }
}

/** An override request or approval was refused (for example: approver is the requester). */
export class OverrideRefusedError extends RetrySafeError {
  static override readonly [CLASS_BRAND]: string = 'retrysafe.OverrideRefusedError';
  constructor(message: string, record?: IdempotencyRecord) {
    super(ErrorCode.OverrideRefused, message, { record });
  }
}

/** A manual or reconciler resolution was refused: the record is not unknown (or lapsed) at that attempt. */
export class ResolveRefusedError extends RetrySafeError {
  static override readonly [CLASS_BRAND]: string = 'retrysafe.ResolveRefusedError';
  constructor(message: string, record?: IdempotencyRecord) {
    super(ErrorCode.ResolveRefused, message, { record });
  }
}
