import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../stores/types.ts';

const FIRST_POLL_MS = 2;
const MAX_POLL_MS = 100;

/**
 * Waits until the record of `key` may have changed, for at most `timeoutMs`. Uses the store's
 * notifications when it has them; otherwise polls with a short exponential backoff (a waiter for a
 * fast call must not sleep for the slow-call interval).
 */
export async function waitForChange(
  store: Store,
  key: string,
  timeoutMs: number,
  round: number,
): Promise<void> {
  if (timeoutMs <= 0) return;
  if (store.waitForChange !== undefined) {
    await store.waitForChange(key, timeoutMs);
    return;
  }
  await sleep(Math.min(timeoutMs, FIRST_POLL_MS * 2 ** Math.min(round, 10), MAX_POLL_MS));
}
