import { InvalidKeyInputError } from '../errors/errors.ts';
import { canonicalize } from './canonicalize.ts';
import { sha256Hex } from './fingerprint.ts';

/** Version of the key derivation rule; part of every key, so a new rule can never collide with this one. */
export const KEY_SCHEME = 'rs1';

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** `-` alone is refused: it is what a key without a scope shows in that position. */
const SCOPE = /^(?!-$)[A-Za-z0-9._~+=-]{1,128}$/;
/** Bound on the canonical key fields: a key identifies an operation, it does not carry its data. */
export const MAX_KEY_FIELDS_BYTES = 4096;

export interface KeyInput {
  /** Application or team namespace, e.g. `billing`. */
  readonly namespace: string;
  /** Operation name, e.g. `charge-order`. */
  readonly operation: string;
  /** Operation version; bump it when the meaning of the key fields changes. */
  readonly version: number;
  /** Optional tenant or account the operation belongs to; shown in the key in clear. */
  readonly scope?: string | undefined;
  /** The stable identity of the logical operation (order id, ticket source id...). Never a timestamp. */
  readonly fields: unknown;
}

/**
 * Derives the idempotency key of one logical operation:
 * `rs1:<namespace>:<operation>@<version>:<scope or ->:<sha256 hex of the canonical input>`.
 *
 * The hash covers the namespace, operation, version, scope and the RFC 8785 canonical key fields, so
 * the key is a pure function of them and never depends on key order, attempt or time.
 *
 * @example
 * ```ts
 * deriveKey({ namespace: 'billing', operation: 'charge-order', version: 1, fields: { orderId: 1042 } })
 * // 'rs1:billing:charge-order@1:-:6c0f…'
 * ```
 */
export function deriveKey(input: KeyInput): string {
  return keyOfCanonical(input, canonicalKeyFields(input.fields));
}

/** The key fields as RFC 8785 canonical JSON, within the size bound; what a record keeps of them. */
export function canonicalKeyFields(fields: unknown): string {
  const canonical = canonicalize(fields);
  if (Buffer.byteLength(canonical, 'utf8') > MAX_KEY_FIELDS_BYTES) {
    throw new InvalidKeyInputError(
      `key fields are ${Buffer.byteLength(canonical, 'utf8')} bytes as canonical JSON; the limit is ` +
        `${MAX_KEY_FIELDS_BYTES}: build the key from identifiers, not from the payload`,
    );
  }
  return canonical;
}

/** `deriveKey` for key fields already canonicalized by `canonicalKeyFields` (canonicalized once per call). */
export function keyOfCanonical(input: Omit<KeyInput, 'fields'>, fields: string): string {
  assertName('namespace', input.namespace);
  assertName('operation', input.operation);
  assertVersion(input.version);
  // typeof: from plain JS a number or null would pass the regex as "42" or "null" and blur the key's text.
  if (input.scope !== undefined && (typeof input.scope !== 'string' || !SCOPE.test(input.scope))) {
    throw new InvalidKeyInputError(`scope must match ${String(SCOPE)}, got ${JSON.stringify(input.scope)}`);
  }
  const material = canonicalize([
    KEY_SCHEME,
    input.namespace,
    input.operation,
    input.version,
    input.scope ?? null,
  ]);
  const digest = sha256Hex(`${material}\n${fields}`);
  return `${KEY_SCHEME}:${input.namespace}:${input.operation}@${input.version}:${input.scope ?? '-'}:${digest}`;
}

/** The scope a key shows in clear (its fourth part), undefined for a key without one. */
export function scopeOfKey(key: string): string | undefined {
  const scope = key.split(':')[3];
  return scope === undefined || scope === '-' ? undefined : scope;
}

export function assertName(what: string, value: string): void {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new InvalidKeyInputError(
      `${what} must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit; ` +
        `got ${JSON.stringify(value)}`,
    );
  }
}

export function assertVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new InvalidKeyInputError(`version must be a positive integer, got ${String(version)}`);
  }
}
