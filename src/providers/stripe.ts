import { jsonOf, pick } from './answers.ts';
import { foundResource, unreadable } from './found.ts';
import { DAY, HOUR } from './time.ts';
import type { HttpAnswer, HttpRequestEnvelope, ProviderProfile } from './types.ts';

/** Metadata key that carries our provider key, so the Search API can find the write. */
export const STRIPE_MARKER = 'retrysafe_key';

/** Resources with a Search API [doc docs.stripe.com/search]. */
export const STRIPE_SEARCHABLE = new Set([
  'charges',
  'customers',
  'invoices',
  'payment_intents',
  'prices',
  'products',
  'subscriptions',
]);

const errorOf = (a: HttpAnswer): unknown => pick(jsonOf(a), 'error');
const replayed = (a: HttpAnswer): boolean => a.headers['idempotent-replayed'] === 'true';

/** The search query that finds what a request with `providerKey` created. */
export function stripeSearchQuery(providerKey: string): string {
  return `metadata['${STRIPE_MARKER}']:'${providerKey}'`;
}

/** `charges` for `https://api.stripe.com/v1/charges`. */
export function stripeResourceOf(url: string): string | undefined {
  return /^\/v1\/([a-z_]+)\/?$/.exec(new URL(url).pathname)?.[1];
}

/**
 * Stripe API v1.
 * - Key: header `Idempotency-Key`, up to 255 characters [doc docs.stripe.com/api/idempotent_requests].
 * - Retention: keys may be pruned once at least 24 h old, counted from first use: a floor [doc].
 * - Replay: the saved status and body of the first request, 500s included [doc]; marked
 *   `Idempotent-Replayed: true` [3p: dj-stripe]. A replayed 5xx therefore burns the key: it will only ever
 *   replay that 500, so reconciliation looks the write up.
 * - Mismatch: error type `idempotency_error` [doc][sdk]; its HTTP status is unverified (400 vs 409 [3p]),
 *   so the type alone decides.
 * - In progress: error code `idempotency_key_in_use` [sdk stripe-go]; 409 per [3p]: the code decides.
 * - Lookup: our provider key in `metadata[retrysafe_key]` and the Search API on searchable resources [doc].
 *   Search is not read-after-write: under a minute normally, up to an hour in outages [doc]: settle 1 h.
 */
export const stripe: ProviderProfile = {
  name: 'stripe',
  key: { in: 'header', name: 'Idempotency-Key' },
  format: { maxLength: 255 },
  retention: { floorMs: DAY, countsFrom: 'first-request' },
  replay: 'stored-response',
  signals: {
    replayed,
    mismatch: (a) => pick(errorOf(a), 'type') === 'idempotency_error',
    inProgress: (a) => pick(errorOf(a), 'code') === 'idempotency_key_in_use',
    keyBurned: (a) => a.status >= 500 && replayed(a),
  },
  mark: (request, providerKey) => markStripeRequest(request, providerKey),
  lookup: {
    settleMs: HOUR,
    find: async ({ request, providerKey }, http) => {
      const resource = stripeResourceOf(request.url);
      if (resource === undefined || !STRIPE_SEARCHABLE.has(resource)) {
        return { status: 'unknown', reason: `Stripe has no Search API for ${new URL(request.url).pathname}` };
      }
      const url = new URL(`/v1/${resource}/search`, request.url);
      url.searchParams.set('query', stripeSearchQuery(providerKey));
      const answer = await http({ method: 'GET', url: url.toString(), headers: {}, body: null });
      const data = pick(jsonOf(answer), 'data');
      if (answer.status !== 200 || !Array.isArray(data)) {
        return unreadable('Stripe', 'search', answer);
      }
      const found: unknown = data[0];
      return found === undefined ? { status: 'absent' } : foundResource(found);
    },
  },
};

/** Adds `metadata[retrysafe_key]=<providerKey>` to a form-encoded Stripe request. */
function markStripeRequest(request: HttpRequestEnvelope, providerKey: string): HttpRequestEnvelope {
  if (request.method !== 'POST') return request;
  const form = new URLSearchParams(request.body ?? '');
  form.set(`metadata[${STRIPE_MARKER}]`, providerKey);
  return {
    ...request,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...request.headers },
    body: form.toString(),
  };
}
