/**
 * The downstream write API, in its own process: `node --import tsx chaos/provider/server.ts <config.json>`.
 * It keeps a ledger of every effect per logical operation, injects the faults the schedule gives each
 * request, and offers a lookup. It honours an idempotency key only when configured to.
 *
 * Routes: `POST /charges` (body `{op}`, headers `Idempotency-Key`, `x-caller`, `x-worker-pid`),
 * `GET /charges?op=` (lookup), `GET /control/ledger` (counts for the checker).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Fault } from '../scenario.ts';
import type { Effect, Ledger, ProviderConfig, ProviderEvent } from './protocol.ts';

const config = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as ProviderConfig;
const effects = new Map<string, Effect[]>();
const requests = new Map<string, number>();
/** Native keys: key -> the effect it made, or a pending marker while its first request runs. */
const keyed = new Map<string, Effect | 'pending'>();
let effectCount = 0;

function emit(event: ProviderEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function reply(response: http.ServerResponse, status: number, body: unknown, headers = {}): void {
  if (response.destroyed) return;
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function applyEffect(op: string, caller: string): Effect {
  const effect = { effectId: `ch_${++effectCount}`, op, caller };
  const list = effects.get(op) ?? [];
  list.push(effect);
  effects.set(op, list);
  return effect;
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of request) body += String(chunk);
  return body;
}

async function charge(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const { op } = JSON.parse(await readBody(request)) as { op?: unknown };
  if (typeof op !== 'string') {
    reply(response, 400, { error: 'op is required' });
    return;
  }
  const caller = String(request.headers['x-caller'] ?? '');
  const pid = Number(request.headers['x-worker-pid'] ?? 0);
  const seen = (requests.get(op) ?? 0) + 1;
  requests.set(op, seen);
  const fault: Fault = config.faults[op]?.[seen - 1] ?? 'ok';

  const key = request.headers['idempotency-key'];
  const nativeKey = config.nativeKeys && typeof key === 'string' && key !== '' ? key : undefined;
  if (nativeKey !== undefined) {
    const known = keyed.get(nativeKey);
    if (known === 'pending') {
      reply(response, 409, { error: 'a request with this key is in progress' }, { 'x-no-effect': '1' });
      return;
    }
    if (known !== undefined) {
      reply(response, 200, known, { 'idempotent-replayed': 'true' });
      return;
    }
  }

  switch (fault) {
    case '503-no-effect':
      reply(response, 503, { error: 'unavailable, nothing was done' }, { 'x-no-effect': '1' });
      return;
    case '409-in-progress':
      reply(response, 409, { error: 'in progress, retry later' }, { 'x-no-effect': '1' });
      return;
    case '500-before-effect':
      reply(response, 500, { error: 'internal error' });
      return;
    case 'slow':
      await sleep(20 + Math.floor(Math.random() * 130));
      break;
    case 'slow-long':
      await sleep(400);
      break;
    default:
      break;
  }
  if (nativeKey !== undefined) keyed.set(nativeKey, 'pending');
  // The effect stands whether or not the caller is still there to hear about it.
  const effect = applyEffect(op, caller);
  if (nativeKey !== undefined) keyed.set(nativeKey, effect);
  switch (fault) {
    case 'reset-after-effect':
      request.socket.destroy();
      return;
    case 'timeout-after-effect':
      await sleep(config.timeoutHoldMs);
      break;
    case '500-after-effect':
      reply(response, 500, { error: 'internal error' });
      return;
    case 'hold-for-stop':
      emit({ event: 'hold', op, pid });
      await sleep(config.stopHoldMs);
      break;
    default:
      break;
  }
  reply(response, 200, effect);
}

function ledger(): Ledger {
  const counts: Record<string, number> = {};
  for (const [op, list] of effects) counts[op] = list.length;
  return { effects: counts, requests: Object.fromEntries(requests) };
}

const server = http.createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const route = `${request.method ?? 'GET'} ${url.pathname}`;
  const handle = async (): Promise<void> => {
    if (route === 'POST /charges') return charge(request, response);
    if (route === 'GET /charges') {
      reply(response, 200, { effects: effects.get(url.searchParams.get('op') ?? '') ?? [] });
      return;
    }
    if (route === 'GET /control/ledger') {
      reply(response, 200, ledger());
      return;
    }
    reply(response, 404, { error: 'no such route' });
  };
  handle().catch((error: unknown) => {
    reply(response, 500, { error: String(error) });
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  emit({ event: 'listening', port: (server.address() as AddressInfo).port });
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
