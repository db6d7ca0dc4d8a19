import { providerKey } from '../keys/provider-key.ts';
import type { IdempotencyRecord } from '../machine/record.ts';

/** The identity fields of a result that comes from a stored record rather than from this call. */
export function replayIdentity(
  key: string,
  record: IdempotencyRecord,
): { key: string; providerKey: string; attempt: number; generation: number } {
  return {
    key,
    providerKey: providerKey(key, record.generation),
    attempt: record.attempt,
    generation: record.generation,
  };
}
