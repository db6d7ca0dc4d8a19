import type { StrictMode } from './modes.ts';

/** An answer the provider sends (and may keep under a key). */
export interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

interface Entry {
  /** Provider time of the key's first request: retention counts from it. */
  readonly firstAt: number;
  /** The request body the key was first used with. */
  readonly body: string;
  /** `running` while the first request executes; then the answer kept, if the mode keeps it. */
  answer: Answer | 'running';
}

/** What to do with a request that carries (or lacks) a key, before anything is executed. */
export type Admission =
  /** Answer this at once: nothing is executed (a replay, 409 in progress, mismatch, missing key). */
  | { readonly kind: 'answer'; readonly answer: Answer; readonly replayed: boolean }
  /** Execute; `begin` marks the key as running, `finish` keeps (or drops) the answer per the mode. */
  | { readonly kind: 'execute'; readonly begin: () => void; readonly finish: (answer: Answer) => void };

/** The error body of a strict mode's refusal, shaped as that provider documents it. */
export function errorBody(mode: StrictMode, kind: 'in-progress' | 'mismatch' | 'missing-key'): unknown {
  if (mode.mode === 'stripe') {
    // Stripe: `idempotency_error` for a reused key with other parameters; `idempotency_key_in_use`
    // (an invalid_request_error) while the first request runs [sdk stripe-go].
    return kind === 'mismatch'
      ? {
          error: {
            type: 'idempotency_error',
            message: 'Keys for idempotent requests can only be used with the same parameters.',
          },
        }
      : {
          error: {
            type: 'invalid_request_error',
            code: 'idempotency_key_in_use',
            message: 'There is currently another in-progress request using this Idempotent Key.',
          },
        };
  }
  const messages = {
    'in-progress': 'a request with this idempotency key is still being processed',
    mismatch: 'the idempotency key was used with a different request payload',
    'missing-key': 'this operation requires an Idempotency-Key header',
  };
  return { error: messages[kind] };
}

/**
 * The provider's native idempotency keys in one strict mode: which request is executed, which is
 * answered from what the key holds, and when a key is forgotten. `now` is passed in (provider clock).
 */
export class KeyedRequests {
  readonly #mode: StrictMode;
  readonly #entries = new Map<string, Entry>();

  constructor(mode: StrictMode) {
    this.#mode = mode;
  }

  /** How the provider treats a request with this key (undefined: none sent) and body. */
  admit(key: string | undefined, body: string, now: number): Admission {
    const mode = this.#mode;
    const execute = (): Admission => ({ kind: 'execute', begin: () => undefined, finish: () => undefined });
    if (mode.keyHeader === null) return execute();
    if (key === undefined || key === '') {
      if (mode.missingKeyStatus === null) return execute();
      return {
        kind: 'answer',
        answer: { status: mode.missingKeyStatus, body: errorBody(mode, 'missing-key') },
        replayed: false,
      };
    }
    let entry = this.#entries.get(key);
    if (entry !== undefined && now - entry.firstAt >= mode.retentionMs) {
      // Retention ended: the provider no longer knows the key; a request with it is a new request.
      this.#entries.delete(key);
      entry = undefined;
    }
    if (entry !== undefined) {
      if (mode.mismatchStatus !== null && entry.body !== body) {
        return {
          kind: 'answer',
          answer: { status: mode.mismatchStatus, body: errorBody(mode, 'mismatch') },
          replayed: false,
        };
      }
      if (entry.answer === 'running') {
        return {
          kind: 'answer',
          answer: { status: 409, body: errorBody(mode, 'in-progress') },
          replayed: false,
        };
      }
      const headers = mode.marksReplays ? { 'idempotent-replayed': 'true' } : {};
      return {
        kind: 'answer',
        answer: { ...entry.answer, headers: { ...entry.answer.headers, ...headers } },
        replayed: true,
      };
    }
    let mine: Entry | undefined;
    return {
      kind: 'execute',
      begin: () => {
        mine = { firstAt: now, body, answer: 'running' };
        this.#entries.set(key, mine);
      },
      finish: (answer) => {
        if (mine === undefined || this.#entries.get(key) !== mine) return;
        const keep = mode.replay === 'stored-response' || (answer.status >= 200 && answer.status < 300);
        if (keep) mine.answer = answer;
        // Only successes are cached (Checkout.com): the key is free again, the next request re-attempts.
        else this.#entries.delete(key);
      },
    };
  }
}
