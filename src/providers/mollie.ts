import { jsonOf, pick } from './answers.ts';
import { foundResource, sameOrigin, unreadable } from './found.ts';
import { jsonObjectBody } from './key.ts';
import { DAY, MINUTE } from './time.ts';
import type { ProviderProfile } from './types.ts';

/** Metadata field that carries our provider key. */
export const MOLLIE_MARKER = 'retrysafe_key';
const MAX_PAGES = 20;
const SKEW_MS = 5 * MINUTE;

/**
 * Mollie.
 * - Key: header `Idempotency-Key` on POST endpoints (ignored on GET/PATCH/DELETE) [doc]; format unknown.
 * - Retention: 24 h, after which the key is a new request [doc].
 * - Replay: a cached copy of the first response, `Idempotent-Replayed: true` [doc].
 * - Mismatch: 400, also for the same key on another endpoint [doc]. Note that an ordinary validation
 *   error is also 400: both are definitive failures and never retried, so the difference does not change
 *   what happens. In progress: 409 [doc].
 * - Lookup: Mollie's own advice is the list endpoints [doc]; our provider key goes in `metadata` (an
 *   object body is required) and the payments list is read newest first until older than the record. The
 *   `_embedded.payments`, `_links.next.href` and `createdAt` shapes come from Mollie's public API reference,
 *   not from the research note; the list's lag is undocumented (settle 1 min is an assumption).
 */
export const mollie: ProviderProfile = {
  name: 'mollie',
  key: { in: 'header', name: 'Idempotency-Key' },
  format: {},
  retention: { floorMs: DAY, countsFrom: 'first-request' },
  replay: 'stored-response',
  signals: {
    replayed: (a) => a.headers['idempotent-replayed'] === 'true',
    inProgress: (a) => a.status === 409,
  },
  mark(request, providerKey) {
    if (!isCreatePayment(request.url)) return request;
    const body = jsonObjectBody(mollie, request);
    const metadata: unknown = body['metadata'] ?? {};
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return request;
    return {
      ...request,
      body: JSON.stringify({ ...body, metadata: { ...metadata, [MOLLIE_MARKER]: providerKey } }),
    };
  },
  lookup: {
    settleMs: MINUTE,
    find: async ({ request, providerKey, since }, http) => {
      if (!isCreatePayment(request.url))
        return { status: 'unknown', reason: 'only payments can be looked up' };
      let url = new URL('/v2/payments?limit=250', request.url).toString();
      for (let page = 0; page < MAX_PAGES; page++) {
        const answer = await http({ method: 'GET', url, headers: {}, body: null });
        const body = jsonOf(answer);
        const payments = pick(body, '_embedded', 'payments');
        if (answer.status !== 200 || !Array.isArray(payments))
          return unreadable('Mollie', 'payments list', answer);
        const found: unknown = payments.find((p) => pick(p, 'metadata', MOLLIE_MARKER) === providerKey);
        if (found !== undefined) return foundResource(found);
        const oldest: unknown = payments.at(-1);
        const createdAt = Date.parse(String(pick(oldest, 'createdAt')));
        if (oldest === undefined || createdAt < since - SKEW_MS) return { status: 'absent' };
        const next = pick(body, '_links', 'next', 'href');
        if (typeof next !== 'string') return { status: 'absent' };
        // The lookup carries credentials: follow pages only on the origin it was asked about.
        if (!sameOrigin(next, new URL(request.url).origin)) {
          return {
            status: 'unknown',
            reason: 'the next page of payments is on another origin; not followed',
          };
        }
        url = next;
      }
      return { status: 'unknown', reason: `more than ${MAX_PAGES} pages of payments since the attempt` };
    },
  },
};

function isCreatePayment(url: string): boolean {
  return /^\/v2\/payments\/?$/.test(new URL(url).pathname);
}
