import type { LookupAnswer } from '../executor/policy.ts';

/**
 * The provider profile model: what a downstream API does with an idempotency key, as plain data plus a
 * few small functions. A profile never performs I/O by itself except through the `HttpClient` its lookup
 * is given, so the same profile serves the fetch wrapper, the undici interceptor and your own transport.
 */

/** An HTTP request as retrysafe stores and re-sends it. Secrets (credentials) are never part of it. */
export interface HttpRequestEnvelope {
  /** Upper-case method. */
  readonly method: string;
  /** Absolute URL. */
  readonly url: string;
  /** Lower-case names; only the headers that define the request (content type and the like). */
  readonly headers: Readonly<Record<string, string>>;
  /** The body as text (UTF-8), or null. */
  readonly body: string | null;
}

/** An HTTP answer as a profile classifies it and as retrysafe stores it (body as text). */
export interface HttpAnswer {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Sends one request (credentials are added by the transport) and reads the whole answer. */
export type HttpClient = (request: HttpRequestEnvelope, signal?: AbortSignal) => Promise<HttpAnswer>;

/** Where the provider's native idempotency key goes. */
export type KeyPlacement =
  | { readonly in: 'header'; readonly name: string }
  /** A top-level field of a JSON body. */
  | { readonly in: 'body'; readonly field: string }
  /** A query parameter (Google Compute Engine's `requestId`, AWS Query APIs' `ClientToken`). */
  | { readonly in: 'query'; readonly name: string };

/** Format limits of the native key; the provider key is checked against them before anything is sent. */
export interface KeyFormat {
  readonly minLength?: number;
  readonly maxLength?: number;
  /** Every character must be printable ASCII. */
  readonly ascii?: boolean;
  /** Must be a UUID (and not the nil UUID). */
  readonly uuid?: boolean;
  /** Further charset rule. */
  readonly pattern?: RegExp;
}

/** What the retention floor counts from. */
export type RetentionStart =
  /** The first request with the key (Stripe, Mollie, Checkout.com, ...). */
  | 'first-request'
  /** The end of the created resource's life (AWS EC2 RunInstances); never earlier than the first request. */
  | 'resource-termination'
  /** Natural idempotency: the request names the resource, so re-sending is safe as long as it exists. */
  | 'natural';

/** How long the provider is known to remember a key. */
export interface Retention {
  /**
   * Minimum time the provider still recognises the key, in ms. `null`: not published (or no native key):
   * a re-send is never known to be safe, reconciliation always looks up.
   */
  readonly floorMs: number | null;
  readonly countsFrom: RetentionStart;
}

/** What a second request with the same key and payload gets back. */
export type ReplayKind =
  /** The stored status and body of the first request, errors included (Stripe v1). */
  | 'stored-response'
  /** Only successes are stored; an error is re-attempted (Checkout.com, Square). */
  | 'stored-success'
  /** The latest state of what the first request created (PayPal, AWS EC2). */
  | 'current-state'
  /** A 409 naming the resource the first request created (GoCardless). */
  | 'conflict-names-resource'
  /** Not documented: the answer to a repeat is not relied upon. */
  | 'unspecified'
  /** No native key: a repeat is a new write (GitHub, Jira): only the lookup can tell. */
  | 'none'
  /** Natural idempotency (upsert): a repeat writes the same state again. */
  | 'natural';

/**
 * Signals in a provider's answer. Each is a small predicate; a missing one never matches. They are tried
 * in a fixed order (see `interpretAnswer`): mismatch, in progress, key burned, existing resource, success,
 * not performed, definitive failure; anything else is unknown.
 */
export interface AnswerSignals {
  /** A 2xx that replays an earlier request instead of performing it. */
  readonly replayed?: (answer: HttpAnswer) => boolean;
  /** The first request with this key is still running: retry later with the SAME key. */
  readonly inProgress?: (answer: HttpAnswer) => boolean;
  /** Same key, different request: a bug on our side, never retried. */
  readonly mismatch?: (answer: HttpAnswer) => boolean;
  /** The provider will only ever replay this (non-definitive) answer for the key: look up before a new key. */
  readonly keyBurned?: (answer: HttpAnswer) => boolean;
  /** The first request created a resource; returns the URL (absolute or relative to the request) to read it. */
  readonly existing?: (answer: HttpAnswer, request: HttpRequestEnvelope) => string | undefined;
  /** The provider guarantees the request had no effect. */
  readonly notPerformed?: (answer: HttpAnswer) => boolean;
  /** A definitive refusal (validation, decline): nothing was written. @default 4xx except 408, 409, 425, 429 */
  readonly failed?: (answer: HttpAnswer) => boolean;
}

/** What the lookup needs to know about the write it looks for. */
export interface LookupRequest {
  /** The request that was sent (as stored on the record). */
  readonly request: HttpRequestEnvelope;
  readonly key: string;
  readonly providerKey: string;
  /** When the record's generation was first reserved (store clock): the write cannot be older. */
  readonly since: number;
}

/** Asks the provider whether the write happened. */
export interface ProviderLookup {
  /**
   * How long after a write the lookup may still miss it. An `absent` answer is trusted only after it.
   */
  readonly settleMs: number;
  /** `found` with the resource as an HTTP answer, `absent`, or `unknown` (never guess). */
  readonly find: (request: LookupRequest, http: HttpClient) => Promise<LookupAnswer<HttpAnswer>>;
}

/** Retrying an in-progress answer with the same key: how long to wait and how often. */
export interface InProgressRetry {
  readonly delaysMs: readonly number[];
}

/**
 * A provider profile. Write one for an API retrysafe does not ship with (see docs/providers.md).
 *
 * @example
 * ```ts
 * const acme: ProviderProfile = {
 *   name: 'acme',
 *   key: { in: 'header', name: 'Idempotency-Key' },
 *   format: { maxLength: 64 },
 *   retention: { floorMs: 24 * 3_600_000, countsFrom: 'first-request' },
 *   replay: 'stored-response',
 *   signals: { inProgress: (a) => a.status === 409, mismatch: (a) => a.status === 422 },
 * };
 * ```
 */
export interface ProviderProfile {
  /** Short name, used in messages. */
  readonly name: string;
  /** Where the native key goes; null when the provider has none. */
  readonly key: KeyPlacement | null;
  readonly format: KeyFormat;
  readonly retention: Retention;
  readonly replay: ReplayKind;
  readonly signals: AnswerSignals;
  /**
   * Stamps our provider key on the request so the lookup can find the write (a metadata field, a hidden
   * marker, a label). Must be deterministic: the same request and key give the same bytes.
   */
  readonly mark?: (request: HttpRequestEnvelope, providerKey: string) => HttpRequestEnvelope;
  readonly lookup?: ProviderLookup;
  /** How an in-progress answer is retried within one attempt. @default 3 retries after 1, 2 and 4 s */
  readonly inProgressRetry?: InProgressRetry;
  /** Derives the native key; must be deterministic. @default `providerKey(key, generation)` (UUIDv5) */
  readonly derive?: (key: string, generation: number) => string;
}

/** What an answer means, once a profile has read it. */
export type AnswerKind =
  | { readonly kind: 'success'; readonly replayed: boolean }
  | { readonly kind: 'in_progress' }
  | { readonly kind: 'mismatch' }
  | { readonly kind: 'key_burned' }
  | { readonly kind: 'existing'; readonly url: string }
  | { readonly kind: 'not_performed' }
  | { readonly kind: 'failed' }
  | { readonly kind: 'unknown' };
