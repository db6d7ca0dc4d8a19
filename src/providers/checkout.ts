import { jsonObjectBody } from './key.ts';
import { jsonOf, pick } from './answers.ts';
import { foundResource, unreadable } from './found.ts';
import { DAY, MINUTE, SECOND } from './time.ts';
import type { ProviderProfile } from './types.ts';

/** Metadata field that carries our provider key. */
export const CHECKOUT_MARKER = 'retrysafe_key';

/**
 * Checkout.com.
 * - Key: header `Cko-Idempotency-Key` on payments, captures, refunds, voids, transfers [doc]; format
 *   unknown (UUIDv4 recommended): none enforced.
 * - Retention: 24 h by default in sandbox and production, changeable in production via the account
 *   manager [doc] (a 2022 page said 120 s in sandbox).
 * - Replay: only 2xx results are cached; a 4xx/5xx is re-attempted under the same key [doc].
 * - In progress: 409 "Conflict with another request being processed" (formerly 429): wait at least 30 s,
 *   then retry with the same key [doc]. Both statuses are read as in progress, never as a rate limit.
 * - Mismatch: unknown.
 * - Lookup: `GET /payments?reference=` (beta) [doc]. The marker puts our provider key in `metadata` and,
 *   when the request has no `reference`, in `reference`. The list's lag is not documented: a settle delay
 *   of 1 min is an assumption; the answer shape (`data[]`) is an assumption too.
 */
export const checkout: ProviderProfile = {
  name: 'checkout.com',
  key: { in: 'header', name: 'Cko-Idempotency-Key' },
  format: {},
  retention: { floorMs: DAY, countsFrom: 'first-request' },
  replay: 'stored-success',
  signals: { inProgress: (a) => a.status === 409 || a.status === 429 },
  inProgressRetry: { delaysMs: [30 * SECOND, 60 * SECOND] },
  mark(request, providerKey) {
    const body = jsonObjectBody(checkout, request);
    const metadata =
      typeof body['metadata'] === 'object' && body['metadata'] !== null ? body['metadata'] : {};
    return {
      ...request,
      body: JSON.stringify({
        ...body,
        reference: body['reference'] ?? providerKey,
        metadata: { ...metadata, [CHECKOUT_MARKER]: providerKey },
      }),
    };
  },
  lookup: {
    settleMs: MINUTE,
    find: async ({ request, providerKey }, http) => {
      if (!/\/payments\/?$/.test(new URL(request.url).pathname)) {
        return { status: 'unknown', reason: 'only payment requests can be looked up by reference' };
      }
      const sent = jsonObjectBody(checkout, request);
      const reference = typeof sent['reference'] === 'string' ? sent['reference'] : providerKey;
      const url = new URL('/payments', request.url);
      url.searchParams.set('reference', reference);
      const answer = await http({ method: 'GET', url: url.toString(), headers: {}, body: null });
      const data = pick(jsonOf(answer), 'data');
      if (answer.status !== 200 || !Array.isArray(data)) {
        return unreadable('Checkout.com', 'payment list', answer);
      }
      const found: unknown = data.find((p) => pick(p, 'metadata', CHECKOUT_MARKER) === providerKey);
      return found === undefined ? { status: 'absent' } : foundResource(found);
    },
  },
};
