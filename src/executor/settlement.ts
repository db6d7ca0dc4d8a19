import { evidenceAfterAttempt, type AttemptAnswer } from '../machine/provider-key-evidence.ts';
import { RecordState, type KeyEvidence } from '../machine/record.ts';
import type { Settlement } from '../stores/types.ts';
import { storableResult, summarizeFailure } from './outcome.ts';
import type { Classification } from './policy.ts';
import type { Behaviour, PreparedCall } from './prepared.ts';

/** How the wrapped call ended, before it is recorded. */
export type CallOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly error: unknown;
      readonly classification: Classification;
      /** For an unknown outcome: what it says about the provider key. */
      readonly answer: AttemptAnswer;
    };

/**
 * Turns a classified outcome into the settlement the store records; an unknown one carries the provider
 * key's evidence after it, from the evidence the attempt started with (`before`).
 */
export function settlementFor<I, T>(
  call: PreparedCall<I, T>,
  outcome: CallOutcome<T>,
  before: KeyEvidence,
): Settlement {
  const lifetime = { ttlMs: call.policy.ttlMs, tombstoneMs: call.policy.tombstoneMs };
  if (outcome.ok) {
    return {
      ...lifetime,
      state: RecordState.Succeeded,
      ...storableResult(outcome.value, call.policy.maxResultBytes),
      providerRef: providerRefOf(call.behaviour, outcome.value),
    };
  }
  switch (outcome.classification) {
    case 'failed': {
      const failure = summarizeFailure(outcome.error);
      return {
        ...lifetime,
        state: RecordState.Failed,
        result: JSON.stringify(failure),
        reason: `${failure.name}: ${failure.message}`,
      };
    }
    case 'not_performed':
      return {
        ...lifetime,
        state: RecordState.Released,
        reason: `not performed: ${describe(outcome.error)}`,
      };
    case 'unknown':
    case 'unknown_answered':
    case 'unknown_no_answer':
    case 'burned': {
      const keyEvidence = evidenceAfterAttempt(before, outcome.answer, call.policy.providerStoresErrors);
      return {
        ...lifetime,
        state: RecordState.Unknown,
        reason: describe(outcome.error),
        ...(keyEvidence === null ? {} : { keyEvidence }),
      };
    }
  }
}

export function providerRefOf<I, T>(behaviour: Behaviour<I, T>, value: T): string | null {
  try {
    return behaviour.providerRef?.(value) ?? null;
  } catch {
    // A reference extractor must never turn a recorded success into a failure.
    return null;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${error.message}`.slice(0, 500);
  }
  return String(error).slice(0, 500);
}
