import type { IdempotencyRecord } from '../machine/record.ts';
import type { CallContext, Classification, LookupAnswer, LookupContext, OperationPolicy } from './policy.ts';

/** What a tombstone hit knows: the write's outcome summary, not its result. */
export interface TombstoneSummary {
  readonly state: 'succeeded' | 'failed';
  readonly providerRef: string | null;
  readonly record: IdempotencyRecord;
}

/**
 * The behaviour of an operation, independent of any one input. The payload type is erased here: the
 * public declaration keeps it, and a payload read back from a stored request is the same JSON data.
 */
export interface Behaviour<I, T> {
  readonly call: (input: I, context: CallContext) => Promise<T>;
  readonly classify: (error: unknown) => Classification;
  readonly lookup: ((payload: unknown, context: LookupContext) => Promise<LookupAnswer<T>>) | undefined;
  /** Re-sends a stored payload under the same provider key (batch reconciliation within retention). */
  readonly resend: ((payload: unknown, context: CallContext) => Promise<T>) | undefined;
  /** The provider key of a key and generation: the one source for calls, lookups and results. */
  readonly providerKey: (key: string, generation: number) => string;
  readonly providerRef: ((value: T) => string | undefined) | undefined;
  readonly onTombstone: ((summary: TombstoneSummary) => T) | undefined;
}

/** One call, validated and keyed: everything the run loop needs, computed before the store is touched. */
export interface PreparedCall<I, T> {
  /** `name@version`. */
  readonly operation: string;
  readonly key: string;
  /** The key fields as canonical JSON, kept on the record for lookups from the record alone. */
  readonly keyFields: string;
  readonly fingerprint: string;
  readonly input: I;
  /** What is sent: the lookup's argument. */
  readonly payload: unknown;
  /** The canonical payload kept on the record, or null when the operation keeps none. */
  readonly request: string | null;
  readonly policy: OperationPolicy;
  readonly behaviour: Behaviour<I, T>;
}

/** What a wrapped call resolves to. */
export interface RunResult<T> {
  readonly value: T;
  /** True when this call did not perform the write: a stored result, a shared in-process call, or a lookup. */
  readonly replayed: boolean;
  /** True when the value came from a provider lookup after an unknown outcome. */
  readonly reconciled: boolean;
  readonly key: string;
  readonly providerKey: string;
  readonly attempt: number;
  readonly generation: number;
}
