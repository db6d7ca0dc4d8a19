import { randomUUID } from 'node:crypto';
import type { CallEndMessage } from '../diagnostic-messages.ts';
import { channels, publish, publishAround } from '../diagnostics.ts';
import { RetrySafeError } from '../errors/errors.ts';
import type { PreparedCall, RunResult } from './prepared.ts';

/**
 * Brackets one wrapped call with `retrysafe:call-start` and `retrysafe:call-end` (same `id`), so a tracer
 * can open a span when it starts and close it with the outcome when it ends. Costs nothing unless someone
 * listens on either channel or binds a store to the start channel.
 */
export async function traced<I, T>(
  call: PreparedCall<I, T>,
  execute: () => Promise<RunResult<T>>,
): Promise<RunResult<T>> {
  if (!channels.callStart.hasSubscribers && !channels.callEnd.hasSubscribers) return execute();
  const start = { id: randomUUID(), key: call.key, operation: call.operation };
  const started = Date.now();
  return publishAround('callStart', start, async () => {
    const ended = (rest: Omit<CallEndMessage, 'id' | 'key' | 'operation' | 'durationMs'>): void => {
      publish('callEnd', { ...start, ...rest, durationMs: Math.max(0, Date.now() - started) });
    };
    try {
      const result = await execute();
      ended({
        outcome: result.reconciled ? 'reconciled' : result.replayed ? 'replayed' : 'performed',
        attempt: result.attempt,
        generation: result.generation,
        code: null,
      });
      return result;
    } catch (error) {
      ended({
        outcome: 'error',
        attempt: null,
        generation: null,
        code: error instanceof RetrySafeError ? error.code : null,
        error,
      });
      throw error;
    }
  });
}
