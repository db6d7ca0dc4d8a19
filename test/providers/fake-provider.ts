import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReplayKind } from '../../src/providers/index.ts';

/** An answer the fake sends. */
export interface FakeAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A resource the fake created, with the fields of the request that created it. */
export interface FakeResource {
  readonly id: string;
  /** Server clock at creation. */
  readonly createdAt: number;
  readonly path: string;
  readonly fields: Record<string, unknown>;
}

/** A request as the fake saw it. */
export interface SeenRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * The provider facts the fake behaves by (the research note's facts, per provider). Time is the fake's
 * own clock, advanced by the test, so a 24 h retention or an hour of search lag pass at once.
 */
export interface ProviderFacts {
  readonly name: string;
  /** The native key of a request, or undefined (none sent, or the provider has none). */
  readonly keyOf: (request: SeenRequest) => string | undefined;
  /** How long the provider recognises a key (server clock). */
  readonly retentionMs: number;
  readonly replay: ReplayKind;
  /** Headers added to a replayed stored answer (`Idempotent-Replayed: true`). */
  readonly replayHeaders?: Readonly<Record<string, string>>;
  /** Same key, other request. Undefined: the provider does not check (the original answer comes back). */
  readonly mismatch?: FakeAnswer;
  /** Same key while the first request runs. Undefined: the second request runs too. */
  readonly inProgress?: FakeAnswer;
  /** GoCardless-style answer to a repeat: a conflict naming the created resource. */
  readonly conflict?: (resource: FakeResource) => FakeAnswer;
  /** The id prefix of created resources (`ch_`). */
  readonly idPrefix: string;
  /** Status of a create. @default 200 */
  readonly createdStatus?: number;
  /** The JSON of a resource as the provider returns it. @default { id, ...fields } */
  readonly render?: (resource: FakeResource) => unknown;
  /** Answers lookup GETs from the visible resources (those older than the lag); undefined: not a lookup route. */
  readonly lookup?: (request: SeenRequest, visible: readonly FakeResource[]) => FakeAnswer | undefined;
  /** Lookup lag: resources younger than this (server clock) are not visible to lookups. */
  readonly lagMs?: number;
  /** Natural idempotency: the identity a write names; a second write to it updates the same resource. */
  readonly upsert?: (request: SeenRequest) => string;
}

/** What the next write does besides being performed. */
export type Fault =
  /** Perform the write, then drop the connection without an answer (a crash after the charge). */
  | 'lose-response'
  /** Perform the write, then answer 500 (stored like any answer where the provider stores errors). */
  | 'error-after-effect'
  /**
   * Answer 500 without performing anything, stored under the key where the provider stores errors
   * (Stripe replays it, marked as a replay, for as long as it keeps the key: the key is burned).
   */
  | 'error-before-effect'
  /** Perform the write but hold the answer until `release()`: a repeat meanwhile is "in progress". */
  | 'hold'
  /** Drop the connection before performing anything (the write provably did not happen). */
  | 'lose-before-effect';

interface KeyEntry {
  readonly fingerprint: string;
  readonly at: number;
  /** Undefined when the request stored an answer without performing anything. */
  readonly resourceId: string | undefined;
  answer: FakeAnswer | undefined;
}

export interface FakeProvider {
  readonly url: string;
  readonly facts: ProviderFacts;
  /** Writes that took effect. */
  readonly resources: FakeResource[];
  /** Every request, in order. */
  readonly requests: SeenRequest[];
  /** Advances the fake's clock. */
  advance(ms: number): void;
  /** Queues faults for the next writes. */
  fault(...faults: Fault[]): void;
  /** Drops the answers to the next `n` writes, whatever they are (replays included), after processing them. */
  dropAnswers(n: number): void;
  /** Lets held writes answer. */
  release(): void;
  /** Writes whose key is `key`. */
  writesWithKey(key: string): SeenRequest[];
  close(): Promise<void>;
}

/** Starts a fake provider on 127.0.0.1 with an ephemeral port. */
export async function startFakeProvider(facts: ProviderFacts): Promise<FakeProvider> {
  let clock = Date.now();
  const resources: FakeResource[] = [];
  const requests: SeenRequest[] = [];
  const keys = new Map<string, KeyEntry>();
  const faults: Fault[] = [];
  let held: (() => void)[] = [];
  let drops = 0;

  const send = (res: ServerResponse, answer: FakeAnswer, write = true): void => {
    if (write && drops > 0) {
      drops--;
      res.socket?.destroy();
      return;
    }
    const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(text);
  };
  const render = (resource: FakeResource): unknown =>
    facts.render?.(resource) ?? { id: resource.id, ...resource.fields };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const seen: SeenRequest = {
      method: req.method ?? 'GET',
      url: new URL(req.url ?? '/', 'http://127.0.0.1'),
      headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    requests.push(seen);

    if (seen.method === 'GET') {
      const visible = resources.filter((r) => r.createdAt <= clock - (facts.lagMs ?? 0));
      const answer = facts.lookup?.(seen, visible);
      if (answer !== undefined) {
        send(res, answer, false);
        return;
      }
      const byId = resources.find((r) => seen.url.pathname === `${r.path}/${r.id}`);
      if (byId === undefined) {
        send(res, { status: 404, body: { error: 'not found' } }, false);
        return;
      }
      send(res, { status: 200, body: render(byId) }, false);
      return;
    }

    if (facts.upsert !== undefined) {
      const identity = facts.upsert(seen);
      const existing = resources.findIndex((r) => r.path === identity);
      const fields = parseFields(seen);
      const fault = faults.shift();
      if (fault === 'lose-before-effect') return void req.socket.destroy();
      let answer: FakeAnswer;
      const previous = resources[existing];
      if (previous !== undefined) {
        resources[existing] = { ...previous, fields };
        answer = { status: 200, body: { id: previous.id, created: false } };
      } else {
        answer = { status: 201, body: { id: create(seen, fields, identity).id, created: true } };
      }
      if (fault === 'lose-response') return void req.socket.destroy();
      send(res, answer);
      return;
    }

    const key = facts.keyOf(seen);
    const fingerprint = `${seen.method} ${seen.url.pathname} ${seen.body}`;
    const entry = key === undefined ? undefined : keys.get(key);
    if (entry !== undefined && clock - entry.at < facts.retentionMs) {
      if (entry.fingerprint !== fingerprint && facts.mismatch !== undefined) {
        send(res, facts.mismatch);
        return;
      }
      if (entry.answer === undefined && facts.inProgress !== undefined) {
        send(res, facts.inProgress);
        return;
      }
      const resource = resources.find((r) => r.id === entry.resourceId);
      // A stored answer is replayed whether or not the first request performed anything.
      if (entry.answer !== undefined && facts.replay === 'stored-response') {
        send(res, { ...entry.answer, headers: { ...entry.answer.headers, ...facts.replayHeaders } });
        return;
      }
      if (entry.answer !== undefined && resource !== undefined) {
        switch (facts.replay) {
          case 'stored-response': {
            send(res, {
              ...entry.answer,
              headers: { ...entry.answer.headers, ...facts.replayHeaders },
            });
            return;
          }
          case 'stored-success':
            if (entry.answer.status < 300) {
              send(res, {
                ...entry.answer,
                headers: { ...entry.answer.headers, ...facts.replayHeaders },
              });
              return;
            }
            break; // errors are not stored: performed again
          case 'current-state': {
            send(res, { status: facts.createdStatus ?? 200, body: render(resource) });
            return;
          }
          case 'conflict-names-resource':
            if (facts.conflict !== undefined) {
              send(res, facts.conflict(resource));
              return;
            }
            break;
          default:
            break;
        }
      }
    }

    const fault = faults.shift();
    if (fault === 'lose-before-effect') {
      req.socket.destroy();
      return;
    }
    if (fault === 'error-before-effect') {
      const failure: FakeAnswer = { status: 500, body: { error: { type: 'api_error' } } };
      if (key !== undefined)
        keys.set(key, { fingerprint, at: clock, resourceId: undefined, answer: failure });
      send(res, failure);
      return;
    }
    const resource = create(seen, parseFields(seen));
    const stored: KeyEntry = { fingerprint, at: clock, resourceId: resource.id, answer: undefined };
    if (key !== undefined) keys.set(key, stored);
    let answer: FakeAnswer = { status: facts.createdStatus ?? 200, body: render(resource) };
    if (fault === 'error-after-effect') answer = { status: 500, body: { error: { type: 'api_error' } } };
    if (fault === 'hold') await new Promise<void>((resolve) => held.push(resolve));
    stored.answer = answer;
    if (fault === 'lose-response') {
      req.socket.destroy();
      return;
    }
    send(res, answer);
  }

  function create(seen: SeenRequest, fields: Record<string, unknown>, path?: string): FakeResource {
    const resource = {
      id: `${facts.idPrefix}${resources.length + 1}`,
      createdAt: clock,
      path: path ?? seen.url.pathname.replace(/\/$/, ''),
      fields,
    };
    resources.push(resource);
    return resource;
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(599);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    facts,
    resources,
    requests,
    advance: (ms) => {
      clock += ms;
    },
    fault: (...more) => faults.push(...more),
    dropAnswers: (n) => {
      drops += n;
    },
    release: () => {
      const waiting = held;
      held = [];
      for (const resolve of waiting) resolve();
    },
    writesWithKey: (key) => requests.filter((r) => r.method !== 'GET' && facts.keyOf(r) === key),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** The fields of a JSON or form body (form `a[b]=c` becomes `{ a: { b: 'c' } }`). */
export function parseFields(seen: SeenRequest): Record<string, unknown> {
  if (seen.body === '') return {};
  if ((seen.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')) {
    const fields: Record<string, unknown> = {};
    for (const [name, value] of new URLSearchParams(seen.body)) {
      const nested = /^([^[]+)\[([^\]]+)\]$/.exec(name);
      if (nested?.[1] !== undefined && nested[2] !== undefined) {
        const inner = (fields[nested[1]] ?? {}) as Record<string, unknown>;
        inner[nested[2]] = value;
        fields[nested[1]] = inner;
      } else {
        fields[name] = value;
      }
    }
    return fields;
  }
  try {
    const parsed: unknown = JSON.parse(seen.body);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
