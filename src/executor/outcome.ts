import type { FailureSummary } from '../errors/errors.ts';
import type { AttemptAnswer } from '../machine/provider-key-evidence.ts';
import type { Classification } from './policy.ts';

/** Connection errors raised before a single byte reached the provider. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Default classification: only an error that proves the request never left this machine (connection
 * refused, DNS failure, connect timeout) is `not_performed`; everything else might have reached the
 * provider and is `unknown`. Declare `classify` to recognise the provider's definitive refusals.
 */
export function defaultClassify(error: unknown): Classification {
  let current: unknown = error;
  // fetch wraps the socket error in `cause`, the Stripe SDK in `detail`; look a few levels down.
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const { code, cause, detail } = current as { code?: unknown; cause?: unknown; detail?: unknown };
    if (typeof code === 'string' && NOT_SENT.has(code)) return 'not_performed';
    current = cause ?? detail;
  }
  return 'unknown';
}

/**
 * What an unknown-family classification says about the provider key. Plain `unknown` is read from the
 * error: an HTTP status on it, its `response`, or a few `cause`/`detail` levels down, means the provider
 * answered (non-definitively); anything else (timeout, reset, abort) is no answer.
 */
export function answerOf(classification: Classification, error: unknown): AttemptAnswer {
  switch (classification) {
    case 'burned':
      return 'burned';
    case 'unknown_answered':
      return 'answered';
    case 'unknown':
      return hasHttpStatus(error) ? 'answered' : 'none';
    default:
      return 'none';
  }
}

function hasHttpStatus(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const { status, statusCode, response, cause, detail } = current as Record<string, unknown>;
    const answered = [status, statusCode, (response as { status?: unknown } | undefined)?.status];
    if (answered.some((value) => typeof value === 'number' && value >= 100 && value < 600)) return true;
    current = cause ?? detail;
  }
  return false;
}

/** The part of an error that is stored and replayed for a `failed` outcome. */
export function summarizeFailure(error: unknown): FailureSummary {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const extra = error as { code?: unknown; status?: unknown; statusCode?: unknown };
  const status = typeof extra.status === 'number' ? extra.status : extra.statusCode;
  return {
    name: error.name,
    message: error.message,
    ...(typeof extra.code === 'string' || typeof extra.code === 'number' ? { code: extra.code } : {}),
    ...(typeof status === 'number' ? { status } : {}),
  };
}

/**
 * Results are stored as `{"value": ...}` so that a call returning `undefined` replays as `undefined`.
 * Returns null when the value has no JSON form (the outcome is still recorded, without a replayable result).
 */
export function encodeResult(value: unknown): string | null {
  try {
    return JSON.stringify({ value });
  } catch {
    return null;
  }
}

/** A result as the record keeps it: its JSON, or null with the reason it is not kept. */
export interface StorableResult {
  readonly result: string | null;
  readonly reason: string | null;
}

/**
 * The stored form of a write's result, bounded by `maxBytes`. A write that happened is never turned
 * into anything else because of its result: too large (or without a JSON form), the result is dropped
 * and the reason says so, while the outcome and the provider reference are kept, and replays behave as
 * a tombstone hit.
 */
export function storableResult(value: unknown, maxBytes: number): StorableResult {
  const result = encodeResult(value);
  if (result === null) return { result, reason: 'the result has no JSON form; only the outcome is kept' };
  const bytes = Buffer.byteLength(result, 'utf8');
  if (bytes > maxBytes) {
    return {
      result: null,
      reason:
        `the result (${bytes} bytes) is over maxResultBytes (${maxBytes}); only the outcome and the ` +
        'provider reference are kept',
    };
  }
  return { result, reason: null };
}

export function decodeResult(text: string): unknown {
  return (JSON.parse(text) as { value?: unknown }).value;
}

export function decodeFailure(text: string | null, fallback: string | null): FailureSummary {
  if (text === null) return { name: 'Error', message: fallback ?? 'failed' };
  return JSON.parse(text) as FailureSummary;
}
