import { jsonOf, pick } from './answers.ts';
import { foundResource, unreadable } from './found.ts';
import { jsonObjectBody } from './key.ts';
import { MINUTE } from './time.ts';
import type { HttpAnswer, ProviderProfile } from './types.ts';

const errorCodes = (a: HttpAnswer): string[] => {
  const errors = pick(jsonOf(a), 'errors');
  return Array.isArray(errors) ? errors.map((e) => String(pick(e, 'code'))) : [];
};

/** How far before the record's creation the payment list is read, for clock skew. */
const SKEW_MS = 5 * MINUTE;
const MAX_PAGES = 20;

/**
 * Square (Payments, Orders and other mutations).
 * - Key: body field `idempotency_key` [doc]; CreatePayment allows 1-45 characters [sdk]; other endpoints
 *   may differ.
 * - Retention: not published (Square staff on the developer forum [3p]): a re-send is never known to be
 *   safe, so reconciliation always looks up.
 * - Replay: the first successful response [doc]: errors are not replayed.
 * - Mismatch: `IDEMPOTENCY_KEY_REUSED` [doc][sdk]. In progress: unknown; `TEMPORARY_ERROR` "safely retry
 *   using the same idempotency key" [sdk] is read as in progress. The `errors[].code` body shape is an
 *   assumption from the SDK's error model.
 * - Lookup (CreatePayment only): our provider key in `reference_id` (max 40 [sdk]) unless the request sets
 *   its own, then ListPayments over a time window matched on `reference_id` client-side, since ListPayments
 *   does not filter by it [doc]. The `begin_time`/`cursor` parameters and the `payments[]` answer shape
 *   come from Square's public API reference, not from the research note; the list's lag is undocumented
 *   (settle 1 min is an assumption).
 */
export const square: ProviderProfile = {
  name: 'square',
  key: { in: 'body', field: 'idempotency_key' },
  format: { minLength: 1, maxLength: 45 },
  retention: { floorMs: null, countsFrom: 'first-request' },
  replay: 'stored-success',
  signals: {
    mismatch: (a) => errorCodes(a).includes('IDEMPOTENCY_KEY_REUSED'),
    inProgress: (a) => errorCodes(a).includes('TEMPORARY_ERROR'),
  },
  mark(request, providerKey) {
    if (!isCreatePayment(request.url)) return request;
    const body = jsonObjectBody(square, request);
    return {
      ...request,
      body: JSON.stringify({ ...body, reference_id: body['reference_id'] ?? providerKey }),
    };
  },
  lookup: {
    settleMs: MINUTE,
    find: async ({ request, providerKey, since }, http) => {
      if (!isCreatePayment(request.url)) {
        return { status: 'unknown', reason: 'only CreatePayment can be looked up (by reference_id)' };
      }
      const sent = jsonObjectBody(square, request);
      const reference = typeof sent['reference_id'] === 'string' ? sent['reference_id'] : providerKey;
      let cursor: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const url = new URL('/v2/payments', request.url);
        url.searchParams.set('begin_time', new Date(since - SKEW_MS).toISOString());
        if (cursor !== undefined) url.searchParams.set('cursor', cursor);
        const answer = await http({ method: 'GET', url: url.toString(), headers: {}, body: null });
        const body = jsonOf(answer);
        const payments = pick(body, 'payments') ?? [];
        if (answer.status !== 200 || !Array.isArray(payments))
          return unreadable('Square', 'ListPayments', answer);
        const found: unknown = payments.find((p) => pick(p, 'reference_id') === reference);
        if (found !== undefined) return foundResource(found);
        const next = pick(body, 'cursor');
        if (typeof next !== 'string' || next === '') return { status: 'absent' };
        cursor = next;
      }
      return { status: 'unknown', reason: `more than ${MAX_PAGES} pages of payments since the attempt` };
    },
  },
};

function isCreatePayment(url: string): boolean {
  return /^\/v2\/payments\/?$/.test(new URL(url).pathname);
}
