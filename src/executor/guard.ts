import { RetrySafeError, StoreUnavailableError } from '../errors/errors.ts';

/** Runs a store operation; any failure of the store itself becomes `StoreUnavailableError` (fail closed). */
export async function guard<R>(operation: () => Promise<R>, what: string): Promise<R> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof RetrySafeError) throw error;
    throw new StoreUnavailableError(`store failed to ${what}; nothing was sent`, error);
  }
}
