/**
 * An undici interceptor (`retrysafe/undici`): requests that carry a `retrysafe` option become idempotent
 * operations through a provider profile; all others pass through untouched. Compose it OUTSIDE undici's
 * retry interceptor: each retry of the raw HTTP call then carries the same provider key, which is what
 * makes retrying a POST safe (undici's retry skips POST by default).
 */
import type { Dispatcher } from 'undici';
import type { Operation, RetrySafe } from '../executor/client.ts';
import type { HttpAnswer, HttpClient, HttpRequestEnvelope } from '../providers/types.ts';
import {
  checkHeaderDeclaration,
  envelopeOf,
  resolveHeaders,
  writeScope,
  type CredentialScope,
  type HeaderSource,
} from './envelope.ts';
import { httpOperation, type HttpOperationOptions } from './http-operation.ts';

/** What a request passes (as the `retrysafe` dispatch option) to be made idempotent. */
export interface RetrysafeRequestOption {
  /** The key fields of the logical operation. */
  readonly key: unknown;
  readonly scope?: string;
}

/** The input of the interceptor's operation: the request as stored, with its key fields. */
export interface InterceptedWrite {
  readonly key: unknown;
  readonly scope?: string | undefined;
  readonly request: HttpRequestEnvelope;
}

export interface RetrysafeInterceptorOptions extends Omit<
  HttpOperationOptions<InterceptedWrite>,
  'key' | 'scope' | 'request' | 'transport'
> {
  readonly rs: RetrySafe;
  /**
   * Credentials and other per-send headers: applied to every send, re-send and lookup, never stored.
   * Requires `origin`: they are attached only to requests to the declared origins.
   */
  readonly headers?: HeaderSource;
  /** Whose credentials a `headers` function returns (required with one). See {@link CredentialScope}. */
  readonly credentialScope?: CredentialScope;
}

type Dispatch = Dispatcher['dispatch'];
type DispatchOptions = Dispatcher.DispatchOptions & { retrysafe?: RetrysafeRequestOption };

/**
 * The interceptor factory: `(options) => (dispatch) => (opts, handler) => boolean`.
 *
 * @example
 * ```ts
 * import { Agent, interceptors, request } from 'undici';
 * import { retrysafeInterceptor } from 'retrysafe/undici';
 * const agent = new Agent().compose(
 *   interceptors.retry({ methods: ['POST'], maxRetries: 3 }), // inner: raw retries, same key
 *   retrysafeInterceptor({
 *     rs, name: 'create-payment', version: 1, profile: mollie,
 *     origin: 'https://api.mollie.com', headers: auth, credentialScope: 'shared',
 *   }),
 * );
 * await request('https://api.mollie.com/v2/payments', {
 *   dispatcher: agent, method: 'POST', body, headers: { 'content-type': 'application/json' },
 *   retrysafe: { key: { orderId: 1042 } },
 * } as Parameters<typeof request>[1]);
 * ```
 */
export function retrysafeInterceptor(options: RetrysafeInterceptorOptions): (dispatch: Dispatch) => Dispatch {
  const { rs, headers, credentialScope, ...rest } = options;
  const scoped = checkHeaderDeclaration(`operation ${options.name}@${options.version}`, {
    headers,
    origin: options.origin,
    credentialScope,
  });
  return (dispatch) => {
    const transport: HttpClient = async (request, signal) => {
      const url = new URL(request.url);
      return collect(dispatch, {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: request.method,
        headers: { ...request.headers, ...(await resolveHeaders(headers)) },
        body: request.body,
        ...(signal === undefined ? {} : { signal }),
      });
    };
    const operation: Operation<InterceptedWrite, HttpAnswer> = httpOperation<InterceptedWrite>(rs, {
      ...rest,
      key: (write) => write.key,
      scope: (write) => writeScope(write.scope, scoped),
      request: (write) => write.request,
      transport,
    });

    return (opts: DispatchOptions, handler: Dispatcher.DispatchHandler): boolean => {
      const option = opts.retrysafe;
      if (option === undefined) return dispatch(opts, handler);
      const { retrysafe: _option, ...plain } = opts;
      let request: HttpRequestEnvelope;
      try {
        request = envelopeOf({
          method: plain.method,
          url: new URL(plain.path, String(plain.origin)),
          headers: plain.headers as Record<string, string> | undefined,
          body: plain.body as string | null | undefined,
        });
      } catch (error) {
        fail(handler, error);
        return true;
      }
      operation({ key: option.key, scope: option.scope, request }).then(
        (result) => {
          deliver(handler, result.value, result.replayed);
        },
        (error: unknown) => {
          fail(handler, error);
        },
      );
      return true;
    };
  };
}

/** Header set on answers retrysafe served from its store instead of the provider. */
export const REPLAYED_HEADER = 'x-retrysafe-replayed';

/** Dispatches one request and reads the whole answer. */
function collect(dispatch: Dispatch, opts: Dispatcher.DispatchOptions): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let status = 0;
    let headers: Record<string, string> = {};
    dispatch(opts, {
      // The new handler interface (undici 7): dispatchers recognise it by this method.
      onRequestStart() {},
      onResponseStart(_controller, statusCode, responseHeaders) {
        status = statusCode;
        headers = {};
        for (const [name, value] of Object.entries(responseHeaders)) {
          if (value !== undefined && name !== 'set-cookie') {
            headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
          }
        }
      },
      onResponseData(_controller, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        resolve({ status, headers, body: Buffer.concat(chunks).toString('utf8') });
      },
      onResponseError(_controller, error) {
        reject(error);
      },
    });
  });
}

/** A controller for a response that is already complete: nothing to pause or abort. */
function controller(): Dispatcher.DispatchController {
  let aborted = false;
  let reason: Error | null = null;
  return {
    get aborted() {
      return aborted;
    },
    get paused() {
      return false;
    },
    get reason() {
      return reason;
    },
    abort(why: Error) {
      aborted = true;
      reason = why;
    },
    pause() {},
    resume() {},
  };
}

function deliver(handler: Dispatcher.DispatchHandler, answer: HttpAnswer, replayed: boolean): void {
  const c = controller();
  handler.onRequestStart?.(c, {});
  if (c.aborted) return;
  const headers: Record<string, string> = { ...answer.headers };
  delete headers['content-length'];
  delete headers['transfer-encoding'];
  if (replayed) headers[REPLAYED_HEADER] = 'true';
  // The handler may abort from any callback: check after each.
  const stopped = (): boolean => c.aborted;
  handler.onResponseStart?.(c, answer.status, headers, '');
  if (stopped()) return;
  if (answer.body !== '') handler.onResponseData?.(c, Buffer.from(answer.body, 'utf8'));
  if (stopped()) return;
  handler.onResponseEnd?.(c, {});
}

function fail(handler: Dispatcher.DispatchHandler, error: unknown): void {
  const c = controller();
  handler.onResponseError?.(c, error instanceof Error ? error : new Error(String(error)));
}
