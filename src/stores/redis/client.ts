import { createRequire } from 'node:module';
import { ConfigurationError } from '../../errors/errors.ts';

/**
 * The slice of a Redis client the store needs. An ioredis `Redis` or `Cluster` is adapted
 * automatically (see {@link fromIoredis}); any other client (node-redis, a proxy) can be wrapped in
 * this shape.
 *
 * @example
 * ```ts
 * // A sketch for node-redis on a standalone server (retrysafe's tests run ioredis, not node-redis):
 * import { createClient } from 'redis';
 * const client = await createClient({ url }).connect();
 * const adapted: RedisClientLike = {
 *   evalsha: (sha, keys, args) => client.evalSha(sha, { keys: [...keys], arguments: [...args] }),
 *   scriptLoad: (source) => client.scriptLoad(source),
 *   configGet: async (parameters) => [await client.configGet([...parameters])],
 *   createSubscriber: () => {
 *     const sub = client.duplicate();
 *     let listener = (_channel: string, _message: string): void => {};
 *     const ready = sub.connect();
 *     return {
 *       subscribe: async (channel) => { await ready; await sub.subscribe(channel, (m) => listener(channel, m)); },
 *       unsubscribe: async (channel) => { await ready; await sub.unsubscribe(channel); },
 *       onMessage: (fn) => { listener = fn; },
 *       close: async () => { await sub.quit(); },
 *     };
 *   },
 * };
 * const store = redisStore({ client: adapted });
 * ```
 */
export interface RedisClientLike {
  /**
   * `EVALSHA sha numkeys ...keys ...args`. All `keys` of one call share a hash tag; a cluster client
   * routes the call by them. Rejects with the server's `NOSCRIPT ...` error when the script is not
   * loaded on that node.
   */
  evalsha(sha1: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  /** `SCRIPT LOAD` on every primary that may run the store's scripts (the one server when standalone). */
  scriptLoad(source: string): Promise<unknown>;
  /**
   * `CONFIG GET` of `parameters` on every primary: one parameter-to-value map per node. Rejects with
   * the server's error when CONFIG is disabled or not permitted.
   */
  configGet(parameters: readonly string[]): Promise<readonly Readonly<Record<string, string>>[]>;
  /**
   * `INFO <section>` on every primary: the reply text per node. Optional; without it the store cannot
   * see replicas, so it needs `replicaAcks` or `allowUnacknowledgedReplicas` to be told.
   */
  info?(section: string): Promise<readonly string[]>;
  /**
   * `EVALSHA` then `WAIT replicas timeoutMs` in one pipeline on the node that runs the script (so WAIT
   * counts the replicas of that shard): the script's reply (or its error) and the number of replicas
   * that acknowledged. Needed for `replicaAcks`.
   */
  evalshaThenWait?(
    sha1: string,
    keys: readonly string[],
    args: readonly string[],
    wait: { readonly replicas: number; readonly timeoutMs: number },
  ): Promise<{ readonly reply: unknown; readonly error: Error | undefined; readonly acknowledged: number }>;
  /** A new connection for pub/sub (a subscribed connection can run nothing else). */
  createSubscriber(): RedisSubscriberLike;
}

/** A pub/sub connection, as {@link RedisClientLike.createSubscriber} returns it. */
export interface RedisSubscriberLike {
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  /** Registers the one listener for messages on subscribed channels. */
  onMessage(listener: (channel: string, message: string) => void): void;
  close(): Promise<unknown>;
}

/**
 * What the store uses of an ioredis `Redis` or `Cluster` (structural, so ioredis stays an optional
 * peer dependency).
 */
export interface IoredisClient {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  duplicate(): IoredisClient;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  quit(): Promise<unknown>;
  /** Commands queued and sent in one write; `exec` gives `[error, reply]` per command. */
  pipeline(): IoredisPipeline;
  readonly isCluster: boolean;
  /** Cluster only: the connections to the primaries. */
  nodes?(role: 'master'): IoredisClient[];
}

/** What the store uses of an ioredis pipeline. */
export interface IoredisPipeline {
  call(command: string, ...args: (string | number)[]): IoredisPipeline;
  exec(): Promise<[Error | null, unknown][] | null>;
}

export function isIoredisClient(client: RedisClientLike | IoredisClient): client is IoredisClient {
  return typeof (client as Partial<IoredisClient>).call === 'function' && 'isCluster' in client;
}

/**
 * Adapts an ioredis `Redis` or `Cluster`. On a cluster, SCRIPT LOAD and CONFIG GET go to every
 * primary, EVALSHA is routed by its keys, and messages published on any node reach the subscriber.
 *
 * @example
 * ```ts
 * const store = redisStore({ client: fromIoredis(new Redis.Cluster(nodes)) });
 * ```
 */
export function fromIoredis(client: IoredisClient): RedisClientLike {
  const primaries = async (): Promise<IoredisClient[]> => {
    if (!client.isCluster || client.nodes === undefined) return [client];
    // A cluster learns its nodes on connect; PING waits for that (it queues until the cluster is ready).
    await client.call('PING');
    return client.nodes('master');
  };
  return {
    evalsha: (sha1, keys, args) => client.call('EVALSHA', sha1, keys.length, ...keys, ...args),
    scriptLoad: async (source) =>
      Promise.all((await primaries()).map((node) => node.call('SCRIPT', 'LOAD', source))),
    configGet: async (parameters) =>
      Promise.all(
        (await primaries()).map(async (node) => pairs(await node.call('CONFIG', 'GET', ...parameters))),
      ),
    info: async (section) =>
      Promise.all((await primaries()).map(async (node) => String(await node.call('INFO', section)))),
    // On a cluster, the pipeline goes to the node that owns the script's keys (WAIT has none), so WAIT
    // counts that shard's replicas: one wait per shard a transition touches.
    evalshaThenWait: async (sha1, keys, args, wait) => {
      const replies = await client
        .pipeline()
        .call('EVALSHA', sha1, keys.length, ...keys, ...args)
        .call('WAIT', wait.replicas, wait.timeoutMs)
        .exec();
      const [script, waited] = replies ?? [];
      if (waited?.[0]) throw waited[0];
      return {
        reply: script?.[1],
        error: script?.[0] ?? undefined,
        acknowledged: Number(waited?.[1] ?? 0),
      };
    },
    createSubscriber: () => {
      const connection = client.duplicate();
      // ioredis reconnects on its own; without a listener it would print every connection error.
      connection.on('error', () => undefined);
      return {
        subscribe: (channel) => connection.subscribe(channel),
        unsubscribe: (channel) => connection.unsubscribe(channel),
        onMessage: (listener) => {
          connection.on('message', listener);
        },
        close: () => connection.quit(),
      };
    },
  };
}

/** `[name, value, name, value]` (RESP2) or a map (RESP3) as a record. */
function pairs(reply: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  } else if (typeof reply === 'object' && reply !== null) {
    for (const [name, value] of Object.entries(reply)) out[name] = String(value);
  }
  return out;
}

type IoredisConstructor = new (url: string, options?: Record<string, unknown>) => IoredisClient;

/**
 * Creates an ioredis client for `url`, loading ioredis only now so that it stays an optional peer.
 * The store owns (and quits) this client.
 */
export function connectIoredis(url: string): IoredisClient {
  let loaded: unknown;
  try {
    loaded = createRequire(import.meta.url)('ioredis');
  } catch (error) {
    const missing = error instanceof Error && 'code' in error && error.code === 'MODULE_NOT_FOUND';
    if (!missing) throw error;
    throw new ConfigurationError(
      'redisStore({ url }) creates an ioredis client, but ioredis is not installed: run `npm install ioredis`, ' +
        'or pass your own client as redisStore({ client })',
    );
  }
  const module = loaded as { Redis?: IoredisConstructor; default?: IoredisConstructor };
  const Redis = module.Redis ?? module.default ?? (loaded as IoredisConstructor);
  // Fail a command after a few reconnect attempts instead of queueing it for long: the executor fails
  // closed on a store error, which beats a caller hanging on an unreachable store.
  const client = new Redis(url, {
    maxRetriesPerRequest: 2,
    // Fail closed quickly while the server is down instead of backing off for seconds per command.
    retryStrategy: (attempt: number) => Math.min(attempt * 50, 500),
  });
  // Errors reach callers as rejected commands; without a listener ioredis also logs every reconnect.
  client.on('error', () => undefined);
  return client;
}
