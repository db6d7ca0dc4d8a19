import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { CachePersistenceLayer } from '@aws-lambda-powertools/idempotency/cache';
import { createClient } from '@redis/client';
import { charge } from '../provider/call.ts';
import { requestOptions } from './request.ts';
import type { CallHooks, Impl, ImplConfig, TryOutcome } from './types.ts';

/**
 * `@aws-lambda-powertools/idempotency` with its cache persistence layer on the private Redis, outside
 * Lambda: a `keyPrefix`, and (`withContext`) a registered context whose remaining time is the
 * in-progress window, here the same lease retrysafe gets. Callers retry on any error.
 */
export async function openPowertools(config: ImplConfig, withContext: boolean): Promise<Impl> {
  if (config.store.kind !== 'redis') throw new Error('Powertools runs on the Redis store here');
  const client = createClient({ url: config.store.url });
  client.on('error', () => undefined);
  await client.connect();
  const idempotency = new IdempotencyConfig({ eventKeyJmesPath: 'op', expiresAfterSeconds: 3600 });
  if (withContext) {
    idempotency.registerLambdaContext({
      getRemainingTimeInMillis: () => config.leaseMs,
    });
  }
  const hooksByOp = new Map<string, CallHooks>();
  const chargeOnce = makeIdempotent(
    async (event: { op: string }) => {
      const hooks = hooksByOp.get(event.op);
      if (hooks === undefined) throw new Error('no hooks');
      return charge({
        provider: config.provider,
        op: event.op,
        caller: config.caller,
        timeoutMs: config.callTimeoutMs,
        ...requestOptions(config, event.op),
        hooks,
      });
    },
    {
      persistenceStore: new CachePersistenceLayer({ client: client }),
      config: idempotency,
      keyPrefix: withContext ? 'chaos.charge' : 'chaos.charge.nocontext',
    },
  );
  return {
    async run(op, hooks): Promise<TryOutcome> {
      hooksByOp.set(op, hooks);
      try {
        await chargeOnce({ op });
        return { status: 'ok', replayed: false };
      } catch (error) {
        return {
          status: 'retry',
          detail: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        };
      }
    },
    close: async () => {
      await client.quit().catch(() => undefined);
    },
  };
}
