import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** One write request as the server received it, whether or not it became an effect. */
export interface LedgerRequest {
  /** Order of arrival, from 1. */
  readonly seq: number;
  /** The logical operation id (from the path). */
  readonly id: string;
  /** The `Idempotency-Key` header: the provider key the client sent. */
  readonly providerKey: string;
  /** The `X-Attempt` header: the client's attempt number. */
  readonly attempt: number;
}

/** One effect: a write the server actually applied. Also the body a write answers with. */
export interface LedgerEffect {
  readonly effectId: string;
  readonly id: string;
  readonly providerKey: string;
  /** Attempt of the request that made the effect. */
  readonly attempt: number;
}

/**
 * Where a held request stops: `before-effect` (the server has the request but has not applied it, so a
 * lookup says absent) or `after-effect` (applied, the response is withheld, so the client cannot know).
 */
export type HoldPhase = 'before-effect' | 'after-effect';

/** A request the server will hold on command, until `release()`. */
export interface Hold {
  readonly id: string;
  readonly phase: HoldPhase;
  /** Resolves with the request once it arrived and reached the hold point. */
  readonly arrived: Promise<LedgerRequest>;
  release(): void;
}

interface ArmedHold extends Hold {
  arrive(request: LedgerRequest): void;
  readonly released: Promise<void>;
}

export interface LedgerServerOptions {
  /** Each write waits a random 0..maxDelayMs before its effect, to interleave concurrent callers. */
  readonly maxDelayMs?: number;
}

/**
 * A downstream write API on 127.0.0.1 that counts: every request received and every effect applied,
 * per logical operation id. Like real providers with an idempotency field, a request whose provider key
 * already made an effect gets that effect back without a new one; the request is still counted, so a
 * duplicate call is visible either way.
 *
 * Routes: `POST /write/:id` (headers `Idempotency-Key`, `X-Attempt`) and `GET /effects/:id` (lookup).
 *
 * @example
 * ```ts
 * const ledger = await LedgerServer.start();
 * const hold = ledger.hold('order-1', 'after-effect');
 * // ... a worker POSTs ledger.url + '/write/order-1' ...
 * await hold.arrived; // effect made, response withheld: now kill the worker
 * expect(ledger.requests('order-1')).toHaveLength(1);
 * await ledger.close();
 * ```
 */
export class LedgerServer {
  readonly #server: http.Server;
  readonly #maxDelayMs: number;
  readonly #requests: LedgerRequest[] = [];
  readonly #effects = new Map<string, LedgerEffect>();
  readonly #holds = new Map<string, ArmedHold>();
  readonly #armed = new Set<ArmedHold>();
  #seq = 0;

  private constructor(server: http.Server, options: LedgerServerOptions) {
    this.#server = server;
    this.#maxDelayMs = options.maxDelayMs ?? 0;
  }

  static async start(options: LedgerServerOptions = {}): Promise<LedgerServer> {
    const server = http.createServer();
    const ledger = new LedgerServer(server, options);
    server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      ledger.#handle(request, response).catch((error: unknown) => {
        if (!response.headersSent && !response.destroyed) {
          response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return ledger;
  }

  get url(): string {
    const address = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  /** Holds the next write request for `id` at `phase` until released. One request per hold. */
  hold(id: string, phase: HoldPhase): Hold {
    if (this.#holds.has(id)) throw new Error(`a hold for ${id} is already armed`);
    let arrive!: (request: LedgerRequest) => void;
    let release!: () => void;
    const arrived = new Promise<LedgerRequest>((resolve) => (arrive = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    const hold: ArmedHold = { id, phase, arrived, released, arrive, release };
    this.#holds.set(id, hold);
    this.#armed.add(hold);
    return hold;
  }

  /** Every write request received for `id` (or for all ids), in order of arrival. */
  requests(id?: string): LedgerRequest[] {
    return this.#requests.filter((request) => id === undefined || request.id === id);
  }

  /** Every effect applied for `id` (or for all ids). */
  effects(id?: string): LedgerEffect[] {
    return [...this.#effects.values()].filter((effect) => id === undefined || effect.id === id);
  }

  async close(): Promise<void> {
    for (const hold of this.#armed) hold.release();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
  }

  async #handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    const [, route, encodedId, extra] = url.pathname.split('/');
    const id = encodedId === undefined || encodedId === '' ? undefined : decodeURIComponent(encodedId);
    // Drain the body: the write's payload is not part of what the ledger counts.
    for await (const _chunk of request);
    if (id !== undefined && extra === undefined) {
      if (request.method === 'POST' && route === 'write') {
        await this.#write(id, request, response);
        return;
      }
      if (request.method === 'GET' && route === 'effects') {
        reply(response, 200, { effects: this.effects(id) });
        return;
      }
    }
    reply(response, 404, { error: 'no such route' });
  }

  async #write(id: string, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const providerKey = request.headers['idempotency-key'];
    const attempt = Number(request.headers['x-attempt']);
    if (typeof providerKey !== 'string' || providerKey === '' || !Number.isSafeInteger(attempt)) {
      reply(response, 400, { error: 'Idempotency-Key and X-Attempt are required' });
      return;
    }
    const received: LedgerRequest = { seq: ++this.#seq, id, providerKey, attempt };
    this.#requests.push(received);
    const hold = this.#holds.get(id);
    if (hold !== undefined) this.#holds.delete(id);

    if (hold?.phase === 'before-effect') {
      hold.arrive(received);
      await hold.released;
    } else if (this.#maxDelayMs > 0) {
      await sleep(Math.floor(Math.random() * (this.#maxDelayMs + 1)));
    }
    const known = this.#effects.get(providerKey);
    const effect = known ?? { effectId: `${id}#${this.#effects.size + 1}`, id, providerKey, attempt };
    if (known === undefined) this.#effects.set(providerKey, effect);
    if (hold?.phase === 'after-effect') {
      hold.arrive(received);
      await hold.released;
    }
    // The client may be gone (killed while held): the effect stands, there is just nobody to tell.
    if (!response.destroyed) {
      reply(response, 200, effect, known === undefined ? {} : { 'idempotent-replayed': 'true' });
    }
  }
}

function reply(
  response: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}
