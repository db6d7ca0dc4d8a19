/** Durations used by the built-in profiles, in ms. */
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** Retention of natural idempotency: the request names the resource, a re-send is always the same write. */
export const FOREVER = Number.MAX_SAFE_INTEGER;
