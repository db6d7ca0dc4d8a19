import { jsonOf, pick, isDefinitive4xx } from './answers.ts';
import { DAY } from './time.ts';
import type { HttpAnswer, ProviderProfile } from './types.ts';

const transient = (a: HttpAnswer): boolean => a.headers['transient-error'] === 'true';
/** 704 "request already processed or in progress", 703 idempotency store unavailable [doc]. */
const idempotencyErrorCode = (a: HttpAnswer): boolean => {
  const code = String(pick(jsonOf(a), 'errorCode'));
  return code === '704' || code === '703';
};

/**
 * Adyen (Checkout and other POST APIs).
 * - Key: header `Idempotency-Key` (echoed back) [doc docs.adyen.com/development-resources/api-idempotency];
 *   at most 64 characters, unguessable (keys are scoped per company account) [doc]: a UUIDv5 of our key.
 * - Retention: the current page says at least 31 days, an older copy at least 7 days [doc]. The floor
 *   used is the smaller, 7 days, until the larger is confirmed. Keys are not shared across regions [doc].
 * - Replay: the response to the first attempt [doc].
 * - In progress: `transient-error: true` means retry later with the same key; without it (or `false`) do
 *   not retry [doc]. A 704 (422/409) or 703 (503) without the transient header stays unknown.
 * - Mismatch: unknown. Lookup: no REST lookup found (Adyen points to webhooks): none.
 */
export const adyen: ProviderProfile = {
  name: 'adyen',
  key: { in: 'header', name: 'Idempotency-Key' },
  format: { maxLength: 64 },
  retention: { floorMs: 7 * DAY, countsFrom: 'first-request' },
  replay: 'stored-response',
  signals: {
    inProgress: transient,
    failed: (a) => isDefinitive4xx(a) && !idempotencyErrorCode(a),
  },
};
