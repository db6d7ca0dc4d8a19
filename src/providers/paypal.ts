import { jsonOf, pick } from './answers.ts';
import { DAY, HOUR } from './time.ts';
import type { HttpAnswer, ProviderProfile } from './types.ts';

/**
 * Error names that say the request id was already used for another request: `DUPLICATE_REQUEST_ID`
 * (deprecated v1 APIs) and `PAYPAL_REQUEST_ID_PREVIOUSLY_USED` (Payment Method Tokens v3) [doc]. For
 * Orders v2 and Payments v2 the mismatch answer is unknown; these names are matched in case they appear.
 * Where they sit in the body (`name` or `details[].issue`) is an assumption.
 */
const REUSED = new Set(['DUPLICATE_REQUEST_ID', 'PAYPAL_REQUEST_ID_PREVIOUSLY_USED']);

function reusedRequestId(answer: HttpAnswer): boolean {
  const body = jsonOf(answer);
  const name = pick(body, 'name');
  if (typeof name === 'string' && REUSED.has(name)) return true;
  const details = pick(body, 'details');
  return Array.isArray(details) && details.some((d) => REUSED.has(String(pick(d, 'issue'))));
}

const common = {
  key: { in: 'header', name: 'PayPal-Request-Id' },
  // "PayPal returns the latest status of the previous request" [doc]: the current state, not a snapshot.
  replay: 'current-state',
  // Two simultaneous requests: PayPal "might fail" the second [doc]; how is not documented, so no
  // in-progress signal: such an answer stays unknown and is reconciled.
  signals: { mismatch: reusedRequestId },
  // No built-in lookup: Transaction Search lags up to 3 h and spans 31 days [sdk/OpenAPI text], but the
  // facts in hand do not fix a request shape that finds one write by `invoice_id`/`custom_id`. Bring your
  // own (`{ ...paypalOrders, lookup }`); the declaration-time TTL check asks for it when needed.
} as const satisfies Partial<ProviderProfile>;

/**
 * PayPal REST Orders v2 (create / authorize / capture order).
 * - Key: header `PayPal-Request-Id` (not every API supports it) [doc]; 1-108 characters [sdk].
 * - Retention: 6 h; up to 72 h on request via the account manager [sdk] (raise it with
 *   `{ ...paypalOrders, retention: { floorMs: 72 * HOUR, countsFrom: 'first-request' } }` once granted).
 */
export const paypalOrders: ProviderProfile = {
  ...common,
  name: 'paypal-orders',
  format: { minLength: 1, maxLength: 108 },
  retention: { floorMs: 6 * HOUR, countsFrom: 'first-request' },
};

/**
 * PayPal REST Payments v2 (capture authorization, refund capture).
 * - Key: header `PayPal-Request-Id`; length limit not found (unknown): none enforced.
 * - Retention: 45 days [sdk].
 */
export const paypalPayments: ProviderProfile = {
  ...common,
  name: 'paypal-payments',
  format: {},
  retention: { floorMs: 45 * DAY, countsFrom: 'first-request' },
};
