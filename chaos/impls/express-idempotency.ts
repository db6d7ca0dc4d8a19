import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { getSharedIdempotencyService, idempotency, type IIdempotencyDataAdapter } from 'express-idempotency';
import adapterModule from 'express-idempotency-redis-adapter';
import { charge } from '../provider/call.ts';
import { requestOptions } from './request.ts';
import type { CallHooks, Impl, ImplConfig, TryOutcome } from './types.ts';

/** Set by the route handler on the answer it sends; a replayed answer carries only `content-type`. */
const RAN_HEADER = 'x-chaos-handler-ran';
/** Which try of `run` a request is, so the handler finds that try's hooks. */
const TRY_HEADER = 'x-chaos-try';
/** Its keys are the raw `Idempotency-Key` header: the prefix keeps them apart from other rows' keys. */
const KEY_PREFIX = 'chaos-express:';
/** Past the provider call's own timeout: enough for the two Redis round trips around it. */
const REQUEST_MARGIN_MS = 1_000;

/**
 * express-idempotency (middleware) with express-idempotency-redis-adapter on the private Redis, used the
 * way their READMEs say: each worker process serves an Express app on 127.0.0.1 with `express.json()`
 * and `idempotency({ dataAdapter })` before `POST /charges`, whose handler returns when `isHit(req)`,
 * otherwise calls the provider, answers 201 with the effect, or calls `reportError(req)` and answers 502.
 * `run` is the automation's client: it POSTs to its own process's app with `Idempotency-Key`, and
 * retries on 409 ("a previous request is still in progress"), any other non-2xx answer and network errors.
 *
 * How the middleware keeps a key: it GETs the key; if absent it SETs an in-progress record (request only,
 * TTL 86,400 s) and calls the handler; a GET and a SET, not one atomic step. When the handler sends a
 * 2xx answer it writes the record with the response, fire-and-forget, after the answer has gone out;
 * on any other answer (or `reportError`) it deletes the key. An in-progress record whose process died
 * stays until its TTL, and every later request with that key is answered 409.
 *
 * The adapter gets a client of its own @redis/client (1.x, resolved from the adapter's package) with an
 * 'error' listener, as every peer's client has here. Given only `connectionConfig`, as its README shows,
 * the adapter creates a client without one, and a store restart then ends the worker process with an
 * unhandled 'error' event: a crash of the application, not a property of its idempotency logic.
 *
 * Kill during the record: this implementation has no `armKillDuringRecord`, like node-idempotency; the
 * worker's default applies (kill -9 on the next `setImmediate` after the provider's answer). By then
 * the handler has sent its 201 and handed the record's SET to the Redis client, but the worker dies
 * before its own client reads the answer, and whether the SET reached Redis is down to timing.
 */
export async function openExpressIdempotency(config: ImplConfig): Promise<Impl> {
  if (config.store.kind !== 'redis') throw new Error('express-idempotency runs on the Redis store here');
  const RedisAdapter = adapterModule.default;
  // The 1.x client the adapter was built for (not the dev dependency's 6.x): only what is used here is typed.
  const { createClient } = createRequire(import.meta.resolve('express-idempotency-redis-adapter'))(
    '@redis/client',
  ) as { createClient: (options: { url: string }) => { on(event: 'error', listener: () => void): unknown } };
  const client = createClient({ url: config.store.url });
  client.on('error', () => undefined);
  const adapter = new RedisAdapter({ connectionInstance: client as never });
  await adapter.connect();

  // The adapter's typings declare `response?: T | undefined` where the middleware's declare `response?: T`:
  // the same shape, apart under exactOptionalPropertyTypes.
  const dataAdapter = adapter as IIdempotencyDataAdapter;

  const hooksByTry = new Map<string, CallHooks>();
  const app = express();
  app.use(express.json());
  app.post('/charges', idempotency({ dataAdapter }), async (req: Request, res: Response) => {
    const service = getSharedIdempotencyService();
    if (service.isHit(req)) return;
    const { op } = req.body as { op: string };
    const hooks = hooksByTry.get(req.get(TRY_HEADER) ?? '');
    if (hooks === undefined) {
      await service.reportError(req);
      res.status(500).json({ error: 'no hooks for this try' });
      return;
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
      res.setHeader(RAN_HEADER, '1');
      res.status(201).json(body);
    } catch (error) {
      await service.reportError(req);
      res.status(502).json({ error: error instanceof Error ? error.message : String(error) });
    }
  });
  // The middleware passes its 409 and 417 to `next(error)` with the status already set; a failed store
  // call rejects the middleware, which Express 5 passes on as well. Answer with the message, no stack.
  app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    res
      .status(res.statusCode >= 400 ? res.statusCode : 500)
      .json({ error: error instanceof Error ? error.message : String(error) });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/charges`;

  let tries = 0;
  return {
    async run(op, hooks): Promise<TryOutcome> {
      const id = String(++tries);
      hooksByTry.set(id, hooks);
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': `${KEY_PREFIX}${op}`,
            [TRY_HEADER]: id,
          },
          body: JSON.stringify({ op, amount: 1 }),
          ...(config.callTimeoutMs === null
            ? {}
            : { signal: AbortSignal.timeout(config.callTimeoutMs + REQUEST_MARGIN_MS) }),
        });
        const text = await response.text();
        if (response.ok) return { status: 'ok', replayed: response.headers.get(RAN_HEADER) === null };
        if (response.status === 409) return { status: 'retry', detail: `in progress: ${text.slice(0, 200)}` };
        return { status: 'retry', detail: `answered ${response.status}: ${text.slice(0, 200)}` };
      } catch (error) {
        return { status: 'retry', detail: error instanceof Error ? error.message : String(error) };
      } finally {
        hooksByTry.delete(id);
      }
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
      await adapter.disconnect().catch(() => undefined);
    },
  };
}
