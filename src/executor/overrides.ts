import { randomUUID } from 'node:crypto';
import { ConfigurationError, OverrideRefusedError } from '../errors/errors.ts';
import { canonicalize } from '../keys/canonicalize.ts';
import { fingerprintOfCanonical } from '../keys/fingerprint.ts';
import type { OverrideRequest } from '../machine/record.ts';
import { refusalText } from '../stores/refusals.ts';
import type { Store } from '../stores/types.ts';
import { normalizeActor } from './actor.ts';
import { guard } from './guard.ts';

/** What a person asks for: let `payload` replace the stored payload under `key`, once. */
export interface OverrideAsk {
  readonly key: string;
  readonly fingerprint: string;
  /** Canonical JSON of the proposed payload, kept for the approver; null when it must not be stored. */
  readonly payload: string | null;
  readonly by: unknown;
  readonly reason: unknown;
}

/** Records an override request under the requester's normalized identity, with the proposed payload. */
export async function requestOverride(store: Store, ask: OverrideAsk): Promise<OverrideRequest> {
  const requestedBy = normalizeActor('by', ask.by);
  const reason = requiredText('reason', ask.reason);
  const answer = await guard(
    () =>
      store.requestOverride({
        id: randomUUID(),
        key: ask.key,
        fingerprint: ask.fingerprint,
        requestedBy,
        reason,
        payload: ask.payload,
      }),
    'record the override request',
  );
  if (!answer.ok) throw new OverrideRefusedError(answer.reason, await store.get(ask.key));
  return answer.override;
}

/** The ask for a payload given as a value (the CLI's `--payload FILE`): canonicalized and fingerprinted here. */
export function askFor(key: string, payload: unknown, by: unknown, reason: unknown): OverrideAsk {
  const canonical = canonicalize(payload);
  return { key, fingerprint: fingerprintOfCanonical(canonical), payload: canonical, by, reason };
}

/**
 * Whether an override request's stored payload is what its fingerprint allows. A request whose payload
 * was edited in the store after it was made shows the approver one thing and lets another through; it
 * is refused. A request without a payload (made before payloads were kept, or for an operation that
 * stores none) cannot be checked and says so (`undefined`).
 */
export function payloadMatches(override: OverrideRequest): boolean | undefined {
  if (override.payload === null) return undefined;
  try {
    const canonical = canonicalize(JSON.parse(override.payload) as unknown);
    return canonical === override.payload && fingerprintOfCanonical(canonical) === override.fingerprint;
  } catch {
    return false;
  }
}

/**
 * Approves a pending request as a second, different (normalized) person, after checking that the
 * payload the approver is shown is the one its fingerprint lets through.
 */
export async function approveOverride(store: Store, id: string, by: unknown): Promise<OverrideRequest> {
  const approvedBy = normalizeActor('by', by);
  const all = await guard(() => store.listOverrides(), 'list overrides');
  const pending = all.find((override) => override.id === id);
  if (pending === undefined) throw new OverrideRefusedError(refusalText({ code: 'no_request', id }));
  if (payloadMatches(pending) === false) {
    throw new OverrideRefusedError(
      `override request ${id}: its stored payload does not match its fingerprint ${pending.fingerprint}; ` +
        'it was changed after it was requested. Request it again.',
    );
  }
  const answer = await guard(() => store.approveOverride(id, approvedBy), 'record the approval');
  if (!answer.ok) throw new OverrideRefusedError(answer.reason);
  return answer.override;
}

export function requiredText(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigurationError(`${what} must be a non-empty string`);
  }
  return value;
}
