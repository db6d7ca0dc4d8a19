/**
 * The downstream write API, in its own process: `node --import tsx chaos/provider/server.ts <config.json>`.
 * It keeps a ledger of every effect per logical operation, injects the faults the schedule gives each
 * request, and offers a lookup. How it treats idempotency keys is its mode (modes.ts): `lenient` honours
 * a key only when configured to; the strict modes play a reference provider (keyed.ts).
 *
 * Routes: `POST /charges` (body `{op, amount, marker?}`, headers: the mode's key, `x-caller`,
 * `x-worker-pid`), `GET /charges?op=` (lenient lookup, consistent), `GET /charges/search?marker=` (strict
 * lookup: a list or search by marker that lags behind writes), `GET /control/ledger` (for the checker).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { seededRng } from '../rng.ts';
import type { Fault } from '../scenario.ts';
import { KeyedRequests, errorBody, type Answer } from './keyed.ts';
import { strictMode } from './modes.ts';
import type { Effect, Ledger, ProviderConfig, ProviderEvent } from './protocol.ts';

const config = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as ProviderConfig;
const strict = strictMode(config.mode);
const keyedRequests = strict === undefined ? undefined : new KeyedRequests(strict);
const lag = seededRng(config.seed ^ 0x5eed);
const effects = new Map<string, Effect[]>();
/** Strict modes: when each effect becomes visible to the lookup (provider clock, ms). */
const visibleAt = new Map<Effect, number>();
const requests = new Map<string, number>();
/** Strict modes: requests of an operation that were executed (not replayed or refused): faults count these. */
const executed = new Map<string, number>();
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

function applyEffect(op: string, caller: string, marker?: string): Effect {
  const effect: Effect = {
    effectId: `ch_${++effectCount}`,
    op,
    caller,
    ...(marker === undefined ? {} : { marker }),
  };
  const list = effects.get(op) ?? [];
  list.push(effect);
  effects.set(op, list);
  if (strict !== undefined) visibleAt.set(effect, Date.now() + lag.next() * strict.lookupLagMaxMs);
  return effect;
}

/** A request the provider never answers: the socket stays open until the client gives up. */
function neverAnswer(request: http.IncomingMessage): Promise<void> {
  return new Promise((resolve) => request.socket.once('close', resolve));
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of request) body += String(chunk);
  return body;
}

async function charge(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const text = await readBody(request);
  if (keyedRequests !== undefined) return strictCharge(request, response, text, keyedRequests);
  const { op } = JSON.parse(text) as { op?: unknown };
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

/**
 * A strict mode's `POST /charges`: the key decides first (replay, 409, mismatch, missing key), then the
 * request is executed with its fault. Which answers the key keeps is the mode's (`finish`).
 */
async function strictCharge(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  text: string,
  keyed: KeyedRequests,
): Promise<void> {
  const mode = strict;
  if (mode === undefined) throw new Error('strictCharge needs a strict mode');
  const { op, marker } = JSON.parse(text) as { op?: unknown; marker?: unknown };
  if (typeof op !== 'string') {
    reply(response, 400, { error: 'op is required' });
    return;
  }
  const caller = String(request.headers['x-caller'] ?? '');
  const pid = Number(request.headers['x-worker-pid'] ?? 0);
  requests.set(op, (requests.get(op) ?? 0) + 1);
  const header = mode.keyHeader?.toLowerCase();
  const key = header === undefined ? undefined : request.headers[header];
  const admission = keyed.admit(typeof key === 'string' ? key : undefined, text, Date.now());
  if (admission.kind === 'answer') {
    const { status, body, headers } = admission.answer;
    reply(response, status, body, headers);
    return;
  }
  const seen = (executed.get(op) ?? 0) + 1;
  executed.set(op, seen);
  const fault: Fault = config.faults[op]?.[seen - 1] ?? 'ok';
  // Answers before execution begins: not kept under the key (a gateway's 503, a concurrency refusal),
  // and a request lost on its way in (never answered, never executed).
  switch (fault) {
    case '503-no-effect':
      reply(response, 503, { error: 'service unavailable' });
      return;
    case '409-in-progress':
      reply(response, 409, errorBody(mode, 'in-progress'));
      return;
    case 'hang-before-effect':
      await neverAnswer(request);
      return;
    default:
      break;
  }
  admission.begin();
  const answer = (a: Answer): void => {
    admission.finish(a);
  };
  if (fault === '500-before-effect') {
    // Execution began and failed: Stripe keeps this 500 under the key and replays it.
    const failed = { status: 500, body: { error: { type: 'api_error', message: 'internal error' } } };
    answer(failed);
    reply(response, failed.status, failed.body);
    return;
  }
  if (fault === 'slow') await sleep(20 + Math.floor(Math.random() * 130));
  if (fault === 'slow-long') await sleep(400);
  const effect = applyEffect(op, caller, typeof marker === 'string' ? marker : undefined);
  if (fault === '500-after-effect') {
    const failed = { status: 500, body: { error: { type: 'api_error', message: 'internal error' } } };
    answer(failed);
    reply(response, failed.status, failed.body);
    return;
  }
  // The write completed: its answer is kept now, whether or not it reaches the caller.
  answer({ status: 200, body: effect });
  switch (fault) {
    case 'reset-after-effect':
      request.socket.destroy();
      return;
    case 'timeout-after-effect':
      await sleep(config.timeoutHoldMs);
      break;
    case 'hang-after-effect':
      await neverAnswer(request);
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

/** The strict lookup: the writes carrying `marker` that the lookup already sees (it lags behind writes). */
function search(marker: string): Effect[] {
  const now = Date.now();
  const found: Effect[] = [];
  for (const list of effects.values()) {
    for (const effect of list) {
      if (effect.marker === marker && (visibleAt.get(effect) ?? 0) <= now) found.push(effect);
    }
  }
  return found;
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
    if (route === 'GET /charges/search') {
      reply(response, 200, { data: search(url.searchParams.get('marker') ?? '') });
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
