import { Idempotency } from '@node-idempotency/core';
import { RedisStorageAdapter } from '@node-idempotency/storage-adapter-redis';
import { charge } from '../provider/call.ts';
import { requestOptions } from './request.ts';
import type { Impl, ImplConfig, TryOutcome } from './types.ts';

/**
 * `@node-idempotency/core` with its Redis adapter on the private Redis, used the way its framework
 * integrations use it: `onRequest` before the call (a cached response is replayed, an in-progress key
 * refused), `onResponse` after it with the body or the error. Callers retry on any error.
 */
export async function openNodeIdempotency(config: ImplConfig): Promise<Impl> {
  if (config.store.kind !== 'redis') throw new Error('@node-idempotency runs on the Redis store here');
  const storage = new RedisStorageAdapter({ url: config.store.url });
  await storage.connect();
  const idempotency = new Idempotency(storage, { cacheKeyPrefix: 'chaos-node-idempotency' });
  return {
    async run(op, hooks): Promise<TryOutcome> {
      const request = {
        headers: { 'idempotency-key': op },
        path: '/charges',
        method: 'POST',
        body: { op, amount: 1 },
      };
      try {
        const cached = await idempotency.onRequest(request);
        if (cached !== undefined) {
          return cached.error === undefined
            ? { status: 'ok', replayed: true }
            : { status: 'retry', detail: `replayed error: ${JSON.stringify(cached.error)}` };
        }
      } catch (error) {
        return { status: 'retry', detail: error instanceof Error ? error.message : String(error) };
      }
      try {
        const body = await charge({
          provider: config.provider,
          op,
          caller: config.caller,
          timeoutMs: config.callTimeoutMs,
          ...requestOptions(config, op),
          hooks,
        });
        await idempotency.onResponse(request, { body });
        return { status: 'ok', replayed: false };
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        await idempotency.onResponse(request, { error: detail }).catch(() => undefined);
        return { status: 'retry', detail };
      }
    },
    close: () => storage.disconnect().catch(() => undefined),
  };
}
