import { createHash } from 'node:crypto';

/** Namespace UUID of retrysafe provider keys (UUIDv5 of the RFC 9562 URL namespace and "retrysafe:provider-key"). */
export const PROVIDER_KEY_NAMESPACE = '795691b6-26a8-50b4-b9c6-00a982492042';

/**
 * The key sent to the provider's native idempotency field: a UUIDv5 of our key and the override
 * generation. Deterministic (never per attempt), so a re-send after a crash reuses it; a new generation
 * (approved override) gets a new one. 36 characters of [0-9a-f-] fit every provider limit we know.
 *
 * @example
 * ```ts
 * providerKey('rs1:billing:charge-order@1:-:6c0f…', 1) // 'b3d1…-…' (always the same)
 * ```
 */
export function providerKey(key: string, generation: number): string {
  return uuidV5FromBytes(PROVIDER_KEY_NAMESPACE_BYTES, `${key}#${generation}`);
}

function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

/** Every provider key hashes this namespace first: parsed once. */
const PROVIDER_KEY_NAMESPACE_BYTES = uuidBytes(PROVIDER_KEY_NAMESPACE);

/** RFC 9562 UUID version 5 (SHA-1, name-based). */
export function uuidV5(namespace: string, name: string): string {
  return uuidV5FromBytes(uuidBytes(namespace), name);
}

function uuidV5FromBytes(namespace: Buffer, name: string): string {
  const bytes = createHash('sha1').update(namespace).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
