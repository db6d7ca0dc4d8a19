/**
 * A `fetch` wrapper (`retrysafe/fetch`): each write is an idempotent operation through a provider
 * profile. See docs/providers.md.
 */
import { ConfigurationError } from '../errors/errors.ts';
import type { Operation, RetrySafe } from '../executor/client.ts';
import type { RunResult } from '../executor/prepared.ts';
import type { HttpAnswer, HttpClient } from '../providers/types.ts';
import {
  answerOf,
  checkHeaderDeclaration,
  envelopeOf,
  resolveHeaders,
  writeScope,
  type CredentialScope,
  responseOf,
  type HeaderSource,
  type RequestParts,
} from './envelope.ts';
import { httpOperation, type HttpOperationOptions } from './http-operation.ts';

/** One write through the wrapper. */
export interface FetchWrite extends RequestParts {
  /** The key fields of the logical operation (an order id): never a time or a random value. */
  readonly key: unknown;
  readonly scope?: string;
}

export interface IdempotentFetchOptions extends Omit<
  HttpOperationOptions<FetchWrite>,
  'key' | 'scope' | 'request' | 'transport'
> {
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * Credentials and other per-send headers: applied to every send, re-send and lookup, never stored.
   * Requires `origin`: they are attached only to requests to the declared origins.
   */
  readonly headers?: HeaderSource;
  /** Whose credentials a `headers` function returns (required with one). See {@link CredentialScope}. */
  readonly credentialScope?: CredentialScope;
  /**
   * Deadline of each send, re-send and lookup request. A request that times out after it was sent is an
   * unknown outcome and is reconciled like any other. @default none (the request may wait forever)
   */
  readonly timeoutMs?: number;
}

/** What a write resolves to: the response (rebuilt from the stored answer on a replay) and how it came. */
export interface IdempotentResponse extends Omit<RunResult<HttpAnswer>, 'value'> {
  readonly response: Response;
  readonly answer: HttpAnswer;
}

export interface IdempotentFetch {
  (write: FetchWrite): Promise<IdempotentResponse>;
  /** The underlying operation (its `id` is what `rs.reconcile({ operation })` takes). */
  readonly operation: Operation<FetchWrite, HttpAnswer>;
}

/**
 * Wraps `fetch` so that each write happens once in effect: the provider key goes where the profile
 * says, the request (without credentials) is stored for reconciliation, answers are read by the profile.
 *
 * @example
 * ```ts
 * import { idempotentFetch } from 'retrysafe/fetch';
 * import { stripe } from 'retrysafe/providers';
 * const createCharge = idempotentFetch(rs, {
 *   name: 'create-charge', version: 1, profile: stripe, origin: 'https://api.stripe.com',
 *   headers: () => ({ authorization: `Bearer ${process.env.STRIPE_KEY}` }),
 *   credentialScope: 'shared', // one account; 'per-call' makes every write carry its tenant's scope
 *   timeoutMs: 10_000,
 * });
 * const { response, replayed } = await createCharge({
 *   key: { orderId: 1042 }, method: 'POST', url: 'https://api.stripe.com/v1/charges',
 *   body: new URLSearchParams({ amount: '500', currency: 'eur', source: 'tok_visa' }),
 * });
 * ```
 */
export function idempotentFetch(rs: RetrySafe, options: IdempotentFetchOptions): IdempotentFetch {
  const { fetch: fetchImpl = globalThis.fetch, headers, credentialScope, timeoutMs, ...rest } = options;
  const scoped = checkHeaderDeclaration(`operation ${options.name}@${options.version}`, {
    headers,
    origin: options.origin,
    credentialScope,
  });
  if (timeoutMs !== undefined && (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1)) {
    throw new ConfigurationError(
      `idempotentFetch ${options.name}: timeoutMs must be a positive integer of ms`,
    );
  }
  const transport: HttpClient = async (request, signal) => {
    const signals = [signal, timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs)].filter(
      (s) => s !== undefined,
    );
    const response = await fetchImpl(request.url, {
      method: request.method,
      headers: { ...request.headers, ...(await resolveHeaders(headers)) },
      body: request.body,
      ...(signals.length === 0
        ? {}
        : { signal: signals.length === 1 ? signals[0] : AbortSignal.any(signals) }),
    });
    return answerOf(response);
  };
  const operation = httpOperation<FetchWrite>(rs, {
    ...rest,
    key: (write) => write.key,
    scope: (write) => writeScope(write.scope, scoped),
    request: (write) => envelopeOf(write),
    transport,
  });
  const write = async (input: FetchWrite): Promise<IdempotentResponse> => {
    const { value, ...result } = await operation(input);
    return { ...result, answer: value, response: responseOf(value) };
  };
  return Object.assign(write, { operation });
}

export { envelopeOf, responseOf, answerOf } from './envelope.ts';
export type { CredentialScope, HeaderSource, RequestParts } from './envelope.ts';
export {
  assertNoCredentials,
  CREDENTIAL_HEADER_WORDS,
  SECRET_HEADERS,
  SECRET_QUERY_PARAMETERS,
  type CredentialRules,
} from './credentials.ts';
export { httpOperation, sender, type HttpOperationOptions } from './http-operation.ts';
