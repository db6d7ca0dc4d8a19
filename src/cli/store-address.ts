import { ConfigurationError } from '../errors/errors.ts';
import { storeRegistry, type StoreAddress } from '../stores/registry.ts';
import { UsageError } from './args.ts';

export type { StoreAddress } from '../stores/registry.ts';

/**
 * Parses a `--store` / `RETRYSAFE_STORE` value through the store registry (`sqlite:PATH`,
 * `postgres://…`, `redis://…`, with their `?schema=` / `?prefix=` parameters taken out before the rest
 * goes to the driver). An address the registry cannot use is a usage error.
 */
export function parseStoreAddress(text: string): StoreAddress {
  try {
    return storeRegistry.parse(text);
  } catch (error) {
    if (error instanceof ConfigurationError) throw new UsageError(error.message);
    throw error;
  }
}

/** The address without credentials, for messages and `--json` output. */
export function describeAddress(address: StoreAddress): string {
  return storeRegistry.describe(address);
}
