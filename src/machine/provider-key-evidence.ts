import { KeyEvidence, type IdempotencyRecord } from './record.ts';

/**
 * Evidence about one generation's provider key (SEMANTICS.md, invariant 12), and the one rule that may
 * start a new generation. Pure: every caller (the executor's in-call and batch reconciliation, a
 * person's resolution) applies these functions; the stores only write what they return, fenced on the
 * attempt, and refuse a rekey of a key that is not burned (the SQL in `src/stores/postgres/sql.ts` and
 * the Lua in `src/stores/redis/scripts/reclaim.lua` mirror `mayRekey`).
 */

/** What one attempt's ending says about its provider key. */
export type AttemptAnswer =
  /** No answer reached us (timeout, our deadline, reset, crash): a re-send under the key is still safe. */
  | 'none'
  /** The provider answered, but not definitively (a 5xx): it may have stored that answer under the key. */
  | 'answered'
  /** The provider said it will only ever replay a non-definitive answer for this key. */
  | 'burned';

/**
 * The evidence after an attempt under the key ended `unknown` with `answer`, for a provider that does
 * (`storesErrors`, the default) or does not store non-definitive answers under its key:
 * - no answer leaves the evidence as it was, so the next step may still re-send under the same key;
 * - a non-definitive answer is `answered` (a re-send could replay it, or, where the provider re-attempts,
 *   repeat a write the 5xx hid: the next step is a lookup), or `burned` when a trusted lookup had already
 *   proved the write absent and the provider stores its answers (the same key answered non-definitively
 *   again after a proven absence: it replays a stored answer);
 * - a burn signal is `burned`; `burned` is never cleared within a generation.
 * A provider that caches only successes (Checkout.com) re-attempts under the same key, so its key never
 * burns by a 5xx; but a 5xx from it may follow the effect, so it is looked up before any re-send.
 *
 * @example
 * ```ts
 * evidenceAfterAttempt(null, 'answered')            // 'answered'
 * evidenceAfterAttempt('absent', 'answered')        // 'burned'
 * evidenceAfterAttempt('absent', 'answered', false) // 'answered'
 * evidenceAfterAttempt('absent', 'none')            // 'absent'
 * ```
 */
export function evidenceAfterAttempt(
  before: KeyEvidence,
  answer: AttemptAnswer,
  storesErrors = true,
): KeyEvidence {
  if (before === KeyEvidence.Burned || answer === 'burned') return KeyEvidence.Burned;
  if (answer === 'none') return before;
  return before === KeyEvidence.Absent && storesErrors ? KeyEvidence.Burned : KeyEvidence.Answered;
}

/** How the next attempt after a trusted `absent` is claimed. */
export interface AfterAbsent {
  /** A new generation: a new provider key for the same logical key, payload and fingerprint. */
  readonly newGeneration: boolean;
  /** The evidence the next attempt starts with. */
  readonly keyEvidence: KeyEvidence;
}

/**
 * After a trusted lookup said `absent`: a burned key starts a new generation (its provider key could
 * only ever replay the stored answer); any other key is tried once more under the SAME provider key with
 * evidence `absent`, so the provider's own dedupe still guards against a lookup that missed a write.
 *
 * @example
 * ```ts
 * afterTrustedAbsent('burned')   // { newGeneration: true, keyEvidence: null }
 * afterTrustedAbsent('answered') // { newGeneration: false, keyEvidence: 'absent' }
 * ```
 */
export function afterTrustedAbsent(evidence: KeyEvidence): AfterAbsent {
  return mayRekey(evidence)
    ? { newGeneration: true, keyEvidence: null }
    : { newGeneration: false, keyEvidence: KeyEvidence.Absent };
}

/** Only a burned key may be replaced by reconciliation (a person may ask for a new generation anyway). */
export function mayRekey(evidence: KeyEvidence): boolean {
  return evidence === KeyEvidence.Burned;
}

/** The evidence a reservation starts with: kept within a generation, reset when a new one starts. */
export function evidenceOnReserve(
  previous: IdempotencyRecord | undefined,
  generation: number,
  fresh: boolean,
): KeyEvidence {
  if (previous === undefined || fresh || previous.generation !== generation) return null;
  return previous.keyEvidence;
}

/** Whether a record's key is known to be unusable for a re-send (its answer would only be replayed). */
export function resendCannotHelp(record: IdempotencyRecord): boolean {
  return record.keyEvidence === KeyEvidence.Burned || record.keyEvidence === KeyEvidence.Answered;
}
