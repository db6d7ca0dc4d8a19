/**
 * A helper for the official `stripe` Node SDK (`retrysafe/stripe`): creates go through retrysafe, the
 * provider key is the SDK's `idempotencyKey` request option, replays are recognised by the
 * `Idempotent-Replayed` header, and reconciliation looks the write up through the SDK's Search API.
 */
import type { Operation, RetrySafe } from '../executor/client.ts';
import type { CallContext, OperationPolicy } from '../executor/policy.ts';
import { classify, interpretAnswer, ProviderAnswerError } from '../providers/answers.ts';
import { deriveProviderKey } from '../providers/key.ts';
import { lookupSettleMs, providerStoresErrors, resendWithinMs } from '../providers/policy.ts';
import { checkDeclaredTtl, inProgressDelays } from './http-operation.ts';
import { stripe as stripeProfile, STRIPE_MARKER, stripeSearchQuery } from '../providers/stripe.ts';
import type { HttpAnswer, ProviderProfile } from '../providers/types.ts';
import { setTimeout as sleep } from 'node:timers/promises';

/** Request options the helper passes to the SDK (a subset of `Stripe.RequestOptions`). */
export interface StripeRequestOptions {
  idempotencyKey?: string;
  stripeAccount?: string;
  apiVersion?: string;
  maxNetworkRetries?: number;
  timeout?: number;
}

/** What the SDK's resources look like to the helper (`stripe.charges`, `stripe.paymentIntents`, ...). */
export interface StripeCreatable<P, R> {
  create(params: P, options?: StripeRequestOptions): Promise<R>;
  search?(
    params: { query: string; limit?: number },
    options?: StripeRequestOptions,
  ): PromiseLike<{ data: R[] }>;
}

/** A created (or found) Stripe object and whether Stripe answered with a replay. */
export interface StripeWrite<R> {
  readonly object: R;
  /** Stripe answered `Idempotent-Replayed: true`: the key had been used and this is the saved answer. */
  readonly idempotentReplayed: boolean;
}

export interface StripeOperationOptions<I, P extends object, R> extends Partial<
  Omit<OperationPolicy, 'resendWithinMs' | 'lookupSettleMs' | 'providerStoresErrors'>
> {
  readonly name: string;
  readonly version: number;
  readonly key: (input: I) => unknown;
  readonly scope?: (input: I) => string | undefined;
  /** The create parameters: fingerprinted and stored, so reconciliation can re-send them. */
  readonly params: (input: I) => P;
  /** The SDK resource, e.g. `stripe.charges`. Its `search`, when it has one, is the lookup. */
  readonly resource: StripeCreatable<P, R>;
  /** Further request options (never `idempotencyKey`: that is the provider key). */
  readonly requestOptions?: Omit<StripeRequestOptions, 'idempotencyKey'>;
  /** @default the `stripe` profile (24 h retention, 1 h search settle delay) */
  readonly profile?: ProviderProfile;
  /** Waits before retrying an in-progress answer (`idempotency_key_in_use`) with the same key. */
  readonly inProgressDelaysMs?: readonly number[];
}

/**
 * Declares a Stripe create through the official SDK.
 *
 * @example
 * ```ts
 * import Stripe from 'stripe';
 * import { stripeOperation } from 'retrysafe/stripe';
 * const client = new Stripe(process.env.STRIPE_KEY!);
 * const charge = stripeOperation(rs, {
 *   name: 'charge-order', version: 1, resource: client.charges,
 *   key: (order: Order) => ({ orderId: order.id }),
 *   params: (order) => ({ amount: order.amount, currency: 'eur', source: order.token }),
 * });
 * const { value: { object, idempotentReplayed } } = await charge(order);
 * ```
 */
export function stripeOperation<I, P extends object, R>(
  rs: RetrySafe,
  options: StripeOperationOptions<I, P, R>,
): Operation<I, StripeWrite<R>> {
  const profile = options.profile ?? stripeProfile;
  const { resource, requestOptions, params, inProgressDelaysMs, profile: _p, ...rest } = options;
  const search = resource.search?.bind(resource);
  const { lookup: _lookup, ...withoutLookup } = profile;
  checkDeclaredTtl(rs, search === undefined ? withoutLookup : profile, options);
  const delays = inProgressDelays(profile, inProgressDelaysMs);

  const find = async (providerKey: string): Promise<R | undefined> => {
    if (search === undefined) throw new Error('this Stripe resource has no Search API');
    const found = await search({ query: stripeSearchQuery(providerKey), limit: 1 }, requestOptions);
    return found.data[0];
  };

  const send = async (sent: P, context: CallContext): Promise<StripeWrite<R>> => {
    const { providerKey } = context;
    const given = (sent as { metadata?: unknown }).metadata;
    const metadata = typeof given === 'object' && given !== null ? given : {};
    const marked = { ...sent, metadata: { ...metadata, [STRIPE_MARKER]: providerKey } } as P;
    for (let retry = 0; ; retry++) {
      context.signal.throwIfAborted();
      let object: R;
      try {
        object = await resource.create(marked, { ...requestOptions, idempotencyKey: providerKey });
      } catch (error) {
        const answer = answerOfStripeError(error);
        if (answer === undefined) throw error; // a connection error: unknown (or not sent)
        const meaning = interpretAnswer(profile, answer, {
          method: 'POST',
          url: 'https://api.stripe.com/v1/',
          headers: {},
          body: null,
        });
        if (meaning.kind === 'in_progress' && delays[retry] !== undefined) {
          await sleep(delays[retry], undefined, { signal: context.signal });
          continue;
        }
        if (meaning.kind === 'key_burned' && search !== undefined) {
          const found = await find(providerKey);
          if (found !== undefined) return { object: found, idempotentReplayed: true };
        }
        const kind = meaning.kind === 'success' || meaning.kind === 'existing' ? 'unknown' : meaning.kind;
        throw new ProviderAnswerError(profile.name, kind, answer);
      }
      return { object, idempotentReplayed: headerOf(object, 'idempotent-replayed') === 'true' };
    }
  };

  return rs.operation<I, StripeWrite<R>, P>({
    ...rest,
    resendWithinMs: resendWithinMs(profile),
    lookupSettleMs: lookupSettleMs(profile),
    providerStoresErrors: providerStoresErrors(profile),
    payload: params,
    call: (input, context) => send(params(input), context),
    resend: send,
    providerKey: (key, generation) => deriveProviderKey(profile, key, generation),
    classify: classify(profile),
    replayed: (write) => write.idempotentReplayed,
    providerRef: (write) => {
      const id = (write.object as { id?: unknown }).id;
      return typeof id === 'string' ? id : undefined;
    },
    ...(search === undefined
      ? {}
      : {
          lookup: async (_sent, context) => {
            const found = await find(context.providerKey);
            return found === undefined
              ? { status: 'absent' as const }
              : { status: 'found' as const, value: { object: found, idempotentReplayed: false } };
          },
        }),
  });
}

/** A response header of an SDK result (`lastResponse.headers`). */
function headerOf(object: unknown, name: string): string | undefined {
  const headers = (object as { lastResponse?: { headers?: Record<string, unknown> } } | null)?.lastResponse
    ?.headers;
  const value = headers?.[name];
  return typeof value === 'string' ? value : undefined;
}

/** The HTTP answer behind an SDK error (`StripeError` has `statusCode`, `headers`, `raw`), if it had one. */
function answerOfStripeError(error: unknown): HttpAnswer | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { statusCode?: unknown; headers?: unknown; raw?: unknown };
  if (typeof e.statusCode !== 'number') return undefined;
  const headers: Record<string, string> = {};
  if (typeof e.headers === 'object' && e.headers !== null) {
    for (const [k, v] of Object.entries(e.headers)) if (typeof v === 'string') headers[k.toLowerCase()] = v;
  }
  return { status: e.statusCode, headers, body: JSON.stringify({ error: e.raw ?? {} }) };
}
