import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A charge as the fake payments API keeps and returns it. */
export interface FakeCharge {
  readonly id: string;
  readonly orderId: number;
  readonly amount: number;
}

/**
 * The payments API the docs examples run against, a real HTTP server on 127.0.0.1, and never kinder
 * than a provider may be: it **ignores idempotency keys** (every `POST /charges` that reaches it
 * charges), as a provider without keys or past its key retention does. Its one help is a list of an
 * order's charges, read-after-write like a list endpoint (what Mollie documents as the route to
 * reconcile by).
 *
 *   POST /charges {orderId, amount}  -> 201 the charge; 402 card_declined for a declined order (no charge)
 *   GET  /charges?orderId=N          -> 200 {data: [the order's charges]}
 *
 * `holdNextCharge()` makes the next charge happen and then keeps its answer back until the test lets
 * go (the connection is then dropped, never answered): the window between a provider's effect and the
 * caller's record, where a crash loses the answer.
 */
export class FakePaymentsApi {
  readonly charges: FakeCharge[] = [];
  /** Every POST that reached the server, charged or not. */
  posts = 0;
  #declined = new Set<number>();
  #hold: { applied: (charge: FakeCharge) => void; released: Promise<void> } | undefined;
  #held: ServerResponse[] = [];
  #server = createServer((req, res) => {
    this.#handle(req, res).catch((error: unknown) => {
      send(res, 500, { error: { message: String(error) } });
    });
  });

  /** Starts listening on a free loopback port; returns the base URL. */
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${String((this.#server.address() as AddressInfo).port)}`;
  }

  async stop(): Promise<void> {
    for (const res of this.#held) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
  }

  /** Answers charges of `orderId` with a decline (402), charging nothing. */
  decline(orderId: number): void {
    this.#declined.add(orderId);
  }

  /**
   * The next charge is performed, then its answer is held until `release` settles; then the connection
   * is dropped unanswered. Resolves with the charge once it has been performed.
   */
  holdNextCharge(release: Promise<void>): Promise<FakeCharge> {
    return new Promise((applied) => {
      this.#hold = { applied, released: release };
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method === 'GET' && url.pathname === '/charges') {
      const orderId = Number(url.searchParams.get('orderId'));
      send(res, 200, { data: this.charges.filter((charge) => charge.orderId === orderId) });
      return;
    }
    if (req.method !== 'POST' || url.pathname !== '/charges') {
      send(res, 404, { error: { code: 'not_found' } });
      return;
    }
    this.posts += 1;
    const body = JSON.parse(await readText(req)) as { orderId?: unknown; amount?: unknown };
    const { orderId, amount } = body;
    if (typeof orderId !== 'number' || typeof amount !== 'number' || amount <= 0) {
      send(res, 422, { error: { code: 'invalid_request' } });
      return;
    }
    if (this.#declined.has(orderId)) {
      send(res, 402, { error: { code: 'card_declined' } });
      return;
    }
    const charge = { id: `ch_${String(this.charges.length + 1)}`, orderId, amount };
    this.charges.push(charge);
    const hold = this.#hold;
    if (hold !== undefined) {
      this.#hold = undefined;
      this.#held.push(res);
      hold.applied(charge);
      await hold.released;
      res.destroy();
      return;
    }
    send(res, 201, charge);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
