import { charge } from '../provider/call.ts';
import { requestOptions } from './request.ts';
import type { Impl, ImplConfig, TryOutcome } from './types.ts';

/** Plain retries: call, and on any error call again. What an automation without an idempotency layer does. */
export function openPlain(config: ImplConfig): Impl {
  return {
    async run(op, hooks): Promise<TryOutcome> {
      try {
        await charge({
          provider: config.provider,
          op,
          caller: config.caller,
          timeoutMs: config.callTimeoutMs,
          ...requestOptions(config, op),
          hooks,
        });
        return { status: 'ok', replayed: false };
      } catch (error) {
        return { status: 'retry', detail: error instanceof Error ? error.message : String(error) };
      }
    },
    close: () => Promise.resolve(),
  };
}
