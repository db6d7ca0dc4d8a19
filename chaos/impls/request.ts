import { strictMode } from '../provider/modes.ts';
import type { ImplConfig } from './types.ts';

/**
 * What every implementation but retrysafe sends with a charge in the provider's mode. In a strict mode
 * with a native key, the operation's own id goes in the mode's key header: a stable key, what a careful
 * user of that API sends (an implementation that derived none would get the draft's 400, or no
 * deduplication at all); the marker goes in the body so the lookup could find the write. Lenient: as
 * the harness always sent it (no key, no marker).
 */
export function requestOptions(
  config: ImplConfig,
  op: string,
): { idempotencyKey?: string; keyHeader?: string; marker?: string } {
  const mode = strictMode(config.providerMode);
  if (mode === undefined) return {};
  return {
    marker: op,
    ...(mode.keyHeader === null ? {} : { idempotencyKey: op, keyHeader: mode.keyHeader }),
  };
}
