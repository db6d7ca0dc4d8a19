/**
 * A small payments API for the demo, run as its own process on 127.0.0.1. A `POST /charges` without an
 * `Idempotency-Key` charges every time it reaches the server. With one, the server behaves as Stripe
 * documents: the first request's answer (once it began executing, a 500 included) is stored under the
 * key and replayed to every later request with it, marked `Idempotent-Replayed: true`; a repeat while
 * the first still runs is answered 409, another body under a used key 400. Faults are injected by the
 * orchestrator through `POST /faults`, keyed on the order and the request number, so a plan plays out
 * the same way for every automation run against it.
 *
 *   POST /charges {orderId, amount, currency}  -> 201 the charge (422 on bad input, nothing charged)
 *   GET  /charges?orderId=...                  -> 200 {data: [charges of that order]} (reconciliation lookup)
 *   GET  /ledger                               -> 200 {charges, posts, lookups}
 *   POST /faults {rules: FaultRule[]}          -> 204 (replaces the plan)
 *
 * Prints `{"event":"listening","port":N}` on stdout once it listens, and `{"event":"held",...}` when it
 * holds a request for a kill. Exits when stdin closes, so it never outlives the orchestrator.
 */
import http from 'node:http';
import type { Charge, FaultRule, Ledger, ServerEvent } from './protocol.ts';

const charges: Charge[] = [];
/** Idempotency keys: the body first sent with each, and its stored answer (undefined while it runs). */
const keyed = new Map<string, { body: string; answer?: { status: number; body: unknown } }>();
const postsPerOrder = new Map<string, number>();
let posts = 0;
let lookups = 0;
let rules: readonly FaultRule[] = [];
/** Requests held by a `rendezvous` rule, waiting for a partner request of the same order. */
const waiting = new Map<string, () => void>();

function emit(event: ServerEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function send(
  res: http.ServerResponse,
  status: number,
  body?: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

async function readText(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  return parseJson(await readText(req));
}

function parseChargeRequest(body: unknown): { orderId: string; amount: number; currency: string } | string {
  if (typeof body !== 'object' || body === null) return 'body must be a JSON object';
  const { orderId, amount, currency } = body as Record<string, unknown>;
  if (typeof orderId !== 'string' || orderId === '') return 'orderId must be a non-empty string';
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0) {
    return 'amount must be a positive integer of minor units';
  }
  if (typeof currency !== 'string' || !/^[a-z]{3}$/.test(currency))
    return 'currency must be 3 lowercase letters';
  return { orderId, amount, currency };
}

function ruleFor(orderId: string, request: number): FaultRule | undefined {
  return rules.find(
    (rule) =>
      (rule.orderId === '*' || rule.orderId === orderId) &&
      (rule.requests === undefined || rule.requests.includes(request)),
  );
}

/** Resolves when another request for `orderId` arrives, or after `ms`. */
function rendezvous(orderId: string, ms: number): Promise<void> {
  const partner = waiting.get(orderId);
  if (partner !== undefined) {
    waiting.delete(orderId);
    partner();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiting.delete(orderId);
      resolve();
    }, ms);
    waiting.set(orderId, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function createCharge(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  posts++;
  const text = await readText(req);
  const input = parseChargeRequest(parseJson(text));
  if (typeof input === 'string') {
    // A validation failure never began executing: not stored under a key.
    send(res, 422, { error: 'invalid_request', message: input });
    return;
  }
  const request = (postsPerOrder.get(input.orderId) ?? 0) + 1;
  postsPerOrder.set(input.orderId, request);
  const header = req.headers['idempotency-key'];
  const key = typeof header === 'string' && header !== '' ? header : undefined;
  const known = key === undefined ? undefined : keyed.get(key);
  if (known !== undefined) {
    if (known.body !== text) {
      send(res, 400, { error: 'idempotency_error', message: 'this key was used with other parameters' });
    } else if (known.answer === undefined) {
      send(res, 409, {
        error: 'idempotency_key_in_use',
        message: 'the first request with this key still runs',
      });
    } else {
      send(res, known.answer.status, known.answer.body, { 'idempotent-replayed': 'true' });
    }
    return;
  }
  const entry: { body: string; answer?: { status: number; body: unknown } } = { body: text };
  if (key !== undefined) keyed.set(key, entry);
  const rule = ruleFor(input.orderId, request);

  if (rule?.fault === 'fail-500-stored') {
    // Execution began and failed before charging: the answer is kept under the key and replayed.
    entry.answer = {
      status: 500,
      body: { error: 'api_error', message: 'internal error; nothing was charged' },
    };
    send(res, entry.answer.status, entry.answer.body);
    return;
  }
  if (rule?.fault === 'fail-503') {
    // Refused before execution began (overloaded): not kept, the key is free again.
    if (key !== undefined) keyed.delete(key);
    send(res, 503, { error: 'unavailable', message: 'try again later; nothing was charged' });
    return;
  }
  if (rule?.fault === 'rendezvous') await rendezvous(input.orderId, rule.ms ?? 200);

  const charge: Charge = { id: `ch_${String(charges.length + 1).padStart(4, '0')}`, ...input, request };
  charges.push(charge);
  // The charge is made: its answer is what the key replays, whether or not this one reaches the client.
  entry.answer = { status: 201, body: charge };

  switch (rule?.fault) {
    case 'drop-after-charge':
      // The charge is made; the answer never leaves: the client sees the connection close.
      res.socket?.destroy();
      return;
    case 'delay-after-charge':
      setTimeout(() => {
        send(res, 201, charge);
      }, rule.ms ?? 1000);
      return;
    case 'hold-after-charge':
      // Never answered: the orchestrator kills the client while this request is in flight.
      emit({ event: 'held', orderId: input.orderId, chargeId: charge.id });
      return;
    default:
      send(res, 201, charge);
  }
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const route = `${req.method ?? 'GET'} ${url.pathname}`;
  switch (route) {
    case 'POST /charges':
      await createCharge(req, res);
      return;
    case 'GET /charges': {
      lookups++;
      const orderId = url.searchParams.get('orderId');
      if (orderId === null) {
        send(res, 422, { error: 'invalid_request', message: 'orderId is required' });
        return;
      }
      send(res, 200, { data: charges.filter((charge) => charge.orderId === orderId) });
      return;
    }
    case 'GET /ledger': {
      const ledger: Ledger = { charges, posts, lookups };
      send(res, 200, ledger);
      return;
    }
    case 'POST /faults': {
      const body = (await readJson(req)) as { rules?: unknown } | undefined;
      if (!Array.isArray(body?.rules)) {
        send(res, 422, { error: 'invalid_request', message: 'rules must be an array' });
        return;
      }
      rules = body.rules as FaultRule[];
      send(res, 204);
      return;
    }
    default:
      send(res, 404, { error: 'not_found' });
  }
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((error: unknown) => {
    send(res, 500, { error: 'internal', message: String(error) });
  });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  emit({ event: 'listening', port: address.port });
});

function shutdown(): void {
  server.closeAllConnections();
  server.close();
  process.exit(0);
}
process.stdin.on('end', shutdown);
process.stdin.on('close', shutdown);
process.stdin.resume();
process.on('SIGTERM', shutdown);
