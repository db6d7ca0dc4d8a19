import * as crypto from 'node:crypto';
import { canonicalize } from './canonicalize.ts';

/** Prefix of fingerprint strings; names the hash so a later algorithm can live beside it. */
export const FINGERPRINT_PREFIX = 'sha256:';

/** `crypto.hash` (Node 20.12 and later) hashes a short string in one call: 0.37 µs against 0.87 µs here. */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** The hash `sha256Hex` falls back to where Node has no `crypto.hash` (exported for the test of both). */
export function sha256HexStreaming(text: string): string {
  return crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

/** `sha256:<hex>` of already-canonical text. */
export function sha256Hex(text: string): string {
  return oneShotHash === undefined ? sha256HexStreaming(text) : oneShotHash('sha256', text, 'hex');
}

/**
 * Fingerprint of a payload: SHA-256 over its RFC 8785 canonical form. Two payloads that are equal as
 * JSON data (whatever their key order) have the same fingerprint.
 *
 * @example
 * ```ts
 * fingerprint({ amount: 1000, currency: 'eur' }) === fingerprint({ currency: 'eur', amount: 1000 }) // true
 * ```
 */
export function fingerprint(payload: unknown): string {
  return fingerprintOfCanonical(canonicalize(payload));
}

/** The fingerprint of a payload already in canonical form (the executor keeps that text as the request). */
export function fingerprintOfCanonical(canonical: string): string {
  return FINGERPRINT_PREFIX + sha256Hex(canonical);
}
