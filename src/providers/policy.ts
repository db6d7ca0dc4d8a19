import { ConfigurationError } from '../errors/errors.ts';
import type { LookupAnswer, LookupContext } from '../executor/policy.ts';
import type { HttpAnswer, HttpClient, HttpRequestEnvelope, ProviderProfile } from './types.ts';

/**
 * How long a re-send under the same provider key is known to be safe: the provider's retention floor,
 * counted (conservatively) from when our record was reserved, which is never after the provider's first
 * request. 0 when the retention is not published or there is no native key, and 0 for a provider that
 * caches only successes (`stored-success`: Checkout.com, Square): it re-attempts a request whose first
 * answer was an error, so a re-send after an attempt whose answer we never saw (it may have been a 5xx
 * after the effect) could perform the write twice; such an attempt is looked up instead.
 *
 * @example
 * ```ts
 * rs.operation({ ...definition, resendWithinMs: resendWithinMs(stripe) }) // 24 h
 * ```
 */
export function resendWithinMs(profile: ProviderProfile): number {
  if (profile.replay === 'stored-success') return 0;
  return profile.retention.floorMs ?? 0;
}

/**
 * Whether the provider stores a non-definitive answer (a 5xx) under its key and replays it: true for
 * `stored-response` (Stripe: "retries return the saved response including 500 errors") and, since
 * nothing is known, for `unspecified`. False where a repeat is re-attempted or answered from the current
 * state (Checkout.com and Square cache only successes; PayPal, AWS EC2 and GoCardless answer with what
 * the first request created): their keys never burn, and a re-send after a 5xx may still perform the
 * write.
 *
 * @example
 * ```ts
 * providerStoresErrors(stripe)   // true
 * providerStoresErrors(checkout) // false
 * ```
 */
export function providerStoresErrors(profile: ProviderProfile): boolean {
  return profile.replay === 'stored-response' || profile.replay === 'unspecified';
}

/** How long after a write the profile's lookup may still miss it; 0 without a lookup. */
export function lookupSettleMs(profile: ProviderProfile): number {
  return profile.lookup?.settleMs ?? 0;
}

/**
 * The executor's `lookup` for a profile: reads the stored request from the payload and asks the
 * provider through `http`. Throws `ConfigurationError` when the profile has none.
 */
export function lookup(
  profile: ProviderProfile,
  http: HttpClient,
): (request: HttpRequestEnvelope, context: LookupContext) => Promise<LookupAnswer<HttpAnswer>> {
  const find = profile.lookup?.find;
  if (find === undefined) throw new ConfigurationError(`provider ${profile.name} has no lookup`);
  // The lookup's deadline (lookupTimeoutMs) reaches every request it sends.
  return (request, context) =>
    find(
      { request, key: context.key, providerKey: context.providerKey, since: context.record.createdAt },
      (sent, signal) => http(sent, signal ?? context.signal),
    );
}

/** The timing an operation declares, as far as the TTL check is concerned. */
export interface TtlDeclaration {
  /** `name@version`, for the message. */
  readonly operation: string;
  readonly ttlMs: number;
  /** The trigger's retry/redelivery window. @default 0 */
  readonly retryWindowMs?: number;
}

/**
 * Declaration-time TTL check. Throws `ConfigurationError` naming the numbers and what to change when
 * the operation's TTL outlives what the provider remembers and the profile has no lookup (an unknown
 * outcome past the retention could then be neither re-sent nor found), or when the TTL is shorter than
 * the trigger's retry window (a redelivery after the TTL would be performed again).
 *
 * @example
 * ```ts
 * checkTtl(paypalOrders, { operation: 'create-order@1', ttlMs: 7 * DAY }) // throws: retention is 6 h
 * ```
 */
export function checkTtl(profile: ProviderProfile, declared: TtlDeclaration): void {
  const { operation, ttlMs } = declared;
  const retryWindowMs = declared.retryWindowMs ?? 0;
  if (ttlMs < retryWindowMs) {
    throw new ConfigurationError(
      `operation ${operation}: ttlMs ${ttlMs} (${human(ttlMs)}) is shorter than the trigger's retry window ` +
        `${retryWindowMs} (${human(retryWindowMs)}): a redelivery after the TTL would be performed again. ` +
        `Raise ttlMs to at least ${retryWindowMs}.`,
    );
  }
  if (profile.lookup !== undefined) return;
  const floor = profile.retention.floorMs;
  if (floor === null) {
    throw new ConfigurationError(
      `operation ${operation}: provider ${profile.name} publishes no key retention and has no lookup, so an ` +
        `unknown outcome could be neither re-sent safely nor found (ttlMs ${ttlMs}, ${human(ttlMs)}). ` +
        `Give the profile a lookup: ${lookupHint(profile)}.`,
    );
  }
  if (ttlMs > floor) {
    throw new ConfigurationError(
      `operation ${operation}: ttlMs ${ttlMs} (${human(ttlMs)}) outlives provider ${profile.name}'s key ` +
        `retention of ${floor} (${human(floor)}) and the profile has no lookup: after ${human(floor)} a re-send ` +
        `would be a new write. Lower ttlMs to at most ${floor}, or give the profile a lookup: ` +
        `${lookupHint(profile)}.`,
    );
  }
}

/** How to add a lookup to this profile: the IETF factory takes it as an option, others are spread. */
function lookupHint(profile: ProviderProfile): string {
  return profile.name === 'idempotency-key-header'
    ? 'idempotencyKeyHeader({ retentionMs, lookup: { settleMs, find } })'
    : '{ ...profile, lookup: { settleMs, find } }';
}

/** `90000` -> `1.5 min`. */
export function human(ms: number): string {
  const units: readonly [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1000, 's'],
  ];
  for (const [size, unit] of units) {
    if (ms >= size) return `${String(Math.round((ms / size) * 10) / 10)} ${unit}`;
  }
  return `${ms} ms`;
}
