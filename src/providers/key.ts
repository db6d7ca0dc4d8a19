import { ConfigurationError } from '../errors/errors.ts';
import { providerKey } from '../keys/provider-key.ts';
import type { HttpRequestEnvelope, KeyFormat, ProviderProfile } from './types.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NIL_UUID = '00000000-0000-0000-0000-000000000000';
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Why `value` breaks `format`, or undefined when it fits. */
export function keyFormatViolation(format: KeyFormat, value: string): string | undefined {
  if (format.minLength !== undefined && value.length < format.minLength) {
    return `shorter than ${format.minLength} characters`;
  }
  if (format.maxLength !== undefined && value.length > format.maxLength) {
    return `longer than ${format.maxLength} characters`;
  }
  if (format.ascii === true && !PRINTABLE_ASCII.test(value)) return 'not printable ASCII';
  if (format.uuid === true && (!UUID.test(value) || value === NIL_UUID)) return 'not a non-nil UUID';
  if (format.pattern !== undefined && !format.pattern.test(value))
    return `does not match ${String(format.pattern)}`;
  return undefined;
}

/**
 * The native key for our key and override generation: deterministic (never per attempt), checked
 * against the profile's format limits. Throws `ConfigurationError` when a custom `derive` breaks them.
 *
 * @example
 * ```ts
 * deriveProviderKey(square, 'rs1:shop:pay@1:-:…', 1) // a 36-character UUIDv5, within Square's 45
 * ```
 */
export function deriveProviderKey(profile: ProviderProfile, key: string, generation: number): string {
  const value = profile.derive === undefined ? providerKey(key, generation) : profile.derive(key, generation);
  const violation = keyFormatViolation(profile.format, value);
  if (violation !== undefined) {
    throw new ConfigurationError(`provider ${profile.name}: the derived key ${value} is ${violation}`);
  }
  return value;
}

/**
 * The request as sent: the native key where the profile puts it, then the profile's marker. The stored
 * request never carries either; both are derived again from the key and generation on a re-send, so the
 * same stored request always gives the same bytes.
 *
 * @example
 * ```ts
 * placeKey(mollie, { method: 'POST', url, headers: {}, body }, pk).headers['idempotency-key'] === pk
 * ```
 */
export function placeKey(
  profile: ProviderProfile,
  request: HttpRequestEnvelope,
  providerKey: string,
): HttpRequestEnvelope {
  let placed = request;
  const where = profile.key;
  if (where?.in === 'header') {
    placed = { ...placed, headers: { ...placed.headers, [where.name.toLowerCase()]: providerKey } };
  } else if (where?.in === 'query') {
    const url = new URL(placed.url);
    url.searchParams.set(where.name, providerKey);
    placed = { ...placed, url: url.toString() };
  } else if (where?.in === 'body') {
    placed = {
      ...placed,
      body: JSON.stringify({ ...jsonObjectBody(profile, placed), [where.field]: providerKey }),
    };
  }
  return profile.mark === undefined ? placed : profile.mark(placed, providerKey);
}

/** The body as a JSON object, for profiles that write into it. */
export function jsonObjectBody(
  profile: ProviderProfile,
  request: HttpRequestEnvelope,
): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(request.body ?? '');
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigurationError(
      `provider ${profile.name} needs a JSON object body to place its key or marker in (${request.method} ${request.url})`,
    );
  }
  return parsed as Record<string, unknown>;
}
