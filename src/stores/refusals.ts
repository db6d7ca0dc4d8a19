import type { OverrideRefusal } from '../machine/overrides.ts';
import type { OverrideAnswer } from './types.ts';

/**
 * The words of an override refusal, the same on every store, so an operator reads one sentence for one
 * refusal whatever the backend. The code and its fields come from the rule (src/machine/overrides.ts).
 *
 * @example
 * ```ts
 * refusalText({ code: 'same_approver', id: 'o1', requestedBy: 'alice' });
 * // 'override request o1 was made by alice; another identity must approve it'
 * ```
 */
export function refusalText(refusal: OverrideRefusal): string {
  switch (refusal.code) {
    case 'no_record':
      return `key ${refusal.key} has no record; only a succeeded or failed key can be overridden`;
    case 'not_settled':
      return `key ${refusal.key} is ${refusal.state}; only a succeeded or failed key can be overridden`;
    case 'same_payload':
      return `key ${refusal.key} already holds this payload; no override is needed`;
    case 'tombstone':
      return `key ${refusal.key} is past its TTL and only its tombstone remains; a tombstone cannot be overridden`;
    case 'duplicate_request':
      return `an override request with id ${refusal.id} already exists`;
    case 'no_request':
      return `there is no override request ${refusal.id}`;
    case 'not_pending':
      return `override request ${refusal.id} is already ${refusal.status}`;
    case 'same_approver':
      return `override request ${refusal.id} was made by ${refusal.requestedBy}; another identity must approve it`;
    case 'moved_on':
      return (
        `key ${refusal.key} moved on (generation ${refusal.requested.generation}, attempt ` +
        `${refusal.requested.attempt} to generation ${refusal.now.generation}, attempt ` +
        `${refusal.now.attempt}) since override request ${refusal.id} was made; request it again`
      );
  }
}

/**
 * A refused override answer: the refusal and its words, as every store returns it.
 *
 * @example
 * ```ts
 * return refused({ code: 'duplicate_request', id: input.id }); // from a Store's requestOverride
 * ```
 */
export function refused(refusal: OverrideRefusal): Extract<OverrideAnswer, { ok: false }> {
  return { ok: false, refusal, reason: refusalText(refusal) };
}
