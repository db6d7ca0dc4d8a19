import type { IdempotencyRecord } from '../machine/record.ts';
import type { PreparedCall } from './prepared.ts';

/** The identity fields of a result that comes from a stored record rather than from this call. */
export function replayIdentity<I, T>(
  call: PreparedCall<I, T>,
  record: IdempotencyRecord,
): { key: string; providerKey: string; attempt: number; generation: number } {
  return {
    key: call.key,
    providerKey: call.behaviour.providerKey(call.key, record.generation),
    attempt: record.attempt,
    generation: record.generation,
  };
}
