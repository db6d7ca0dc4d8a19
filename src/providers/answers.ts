import type { Classification } from '../executor/policy.ts';
import { defaultClassify } from '../executor/outcome.ts';
import type { AnswerKind, HttpAnswer, HttpRequestEnvelope, ProviderProfile } from './types.ts';

/** Statuses that say "not now" rather than "no": never a definitive failure by default. */
const NOT_DEFINITIVE_4XX = new Set([408, 409, 425, 429]);

/** The default definitive-failure rule: a 4xx other than timeout, conflict, too early and rate limit. */
export function isDefinitive4xx(answer: HttpAnswer): boolean {
  return answer.status >= 400 && answer.status < 500 && !NOT_DEFINITIVE_4XX.has(answer.status);
}

/**
 * Reads an answer with a profile's signals, in a fixed order: mismatch, in progress, key burned,
 * existing resource, success (replayed or not), not performed, definitive failure; else unknown.
 *
 * @example
 * ```ts
 * interpretAnswer(mollie, { status: 409, headers: {}, body: '' }, request) // { kind: 'in_progress' }
 * ```
 */
export function interpretAnswer(
  profile: ProviderProfile,
  answer: HttpAnswer,
  request: HttpRequestEnvelope,
): AnswerKind {
  const s = profile.signals;
  if (s.mismatch?.(answer) === true) return { kind: 'mismatch' };
  if (s.inProgress?.(answer) === true) return { kind: 'in_progress' };
  if (s.keyBurned?.(answer) === true) return { kind: 'key_burned' };
  const existing = s.existing?.(answer, request);
  if (existing !== undefined) return { kind: 'existing', url: new URL(existing, request.url).toString() };
  if (answer.status >= 200 && answer.status < 300) {
    return { kind: 'success', replayed: s.replayed?.(answer) === true };
  }
  if (s.notPerformed?.(answer) === true) return { kind: 'not_performed' };
  if ((s.failed ?? isDefinitive4xx)(answer)) return { kind: 'failed' };
  return { kind: 'unknown' };
}

/** The kinds an answer can leave an attempt in when it is not a success. */
export type FailureKind = Exclude<AnswerKind['kind'], 'success' | 'existing'>;

const EXPLANATIONS: Record<FailureKind, string> = {
  in_progress: 'the provider still runs the first request with this key; retries with the same key ran out',
  mismatch:
    'the provider holds a different request under this key: a bug (the request is not byte-stable, or the ' +
    'key was reused); never retried',
  key_burned:
    'the provider only replays a non-definitive answer for this key, and the lookup did not find the write',
  not_performed: 'the provider guarantees the request had no effect',
  failed: 'the provider refused the request',
  unknown: 'the answer does not tell whether the write happened',
};

/**
 * An answer from the provider that is not a success, with what it means. `code` is the kind, `status`
 * the HTTP status: both are kept in a stored failure.
 */
export class ProviderAnswerError extends Error {
  readonly code: FailureKind;
  readonly status: number;
  readonly answer: HttpAnswer;
  readonly provider: string;
  constructor(provider: string, kind: FailureKind, answer: HttpAnswer, detail?: string) {
    super(
      `${provider} answered ${answer.status}: ${detail ?? EXPLANATIONS[kind]}` +
        (answer.body === '' ? '' : ` (${answer.body.slice(0, 300)})`),
    );
    this.name = 'ProviderAnswerError';
    this.code = kind;
    this.status = answer.status;
    this.answer = answer;
    this.provider = provider;
  }
}

/**
 * The executor's `classify` for calls made through a profile: a definitive refusal and a payload
 * mismatch are `failed` (a mismatch is never retried), a no-effect guarantee is `not_performed`, the
 * profile's key-burned signal is `burned` (the key only replays that answer: after a trusted absent the
 * next attempt gets a new provider key), in-progress retries that ran out are `unknown_no_answer` (the
 * first request has not ended, so nothing is stored yet), and any other answer is `unknown_answered`.
 * Errors that are not provider answers fall back to `defaultClassify` (connection refused before
 * sending, ...).
 *
 * @example
 * ```ts
 * rs.operation({ ...definition, classify: classify(stripe) })
 * ```
 */
export function classify(_profile: ProviderProfile): (error: unknown) => Classification {
  return (error) => {
    if (!(error instanceof ProviderAnswerError)) return defaultClassify(error);
    switch (error.code) {
      case 'failed':
      case 'mismatch':
        return 'failed';
      case 'not_performed':
        return 'not_performed';
      case 'key_burned':
        return 'burned';
      case 'in_progress':
        return 'unknown_no_answer';
      case 'unknown':
        return 'unknown_answered';
    }
  };
}

/** Parses a JSON answer body; undefined when it is not JSON. For signals and lookups. */
export function jsonOf(answer: { readonly body: string }): unknown {
  try {
    return JSON.parse(answer.body) as unknown;
  } catch {
    return undefined;
  }
}

/** Reads `obj.a.b.c` from unknown JSON without throwing. */
export function pick(value: unknown, ...path: readonly (string | number)[]): unknown {
  let current = value;
  for (const step of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}
