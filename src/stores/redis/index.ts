/**
 * `retrysafe/redis`: the store for automations that run on several machines and already have Redis.
 *
 * Tested primary client: **ioredis 5**. It has Redis Cluster support built in (slot routing, MOVED/ASK,
 * failover), runs EVALSHA through its generic `call` without `defineCommand` (so the store controls
 * SCRIPT LOAD and the NOSCRIPT retry itself and the scripts stay plain `.lua` files), and handles
 * pub/sub on a duplicated connection with automatic resubscription. Any other client (node-redis, a
 * proxy) works through the small {@link RedisClientLike} interface.
 *
 * Guarantees: each transition is one Lua script (one atomic step) fenced on attempt and lease token;
 * leases and expiry use the server's `TIME`; records that are in flight or unknown never expire;
 * settled records expire (`PEXPIREAT`) a grace period after their tombstone, and gc deletes them at
 * the tombstone's end; audit logs outlive both, for their own retention (`auditRetentionMs`). The store refuses a server without an append-only file
 * unless told otherwise (`allowVolatile`), and a primary with replicas unless each transition waits
 * for them (`replicaAcks`) or you accept the risk (`allowUnacknowledgedReplicas`).
 *
 * @module
 */
import { ConfigurationError } from '../../errors/errors.ts';
import type { Store } from '../types.ts';
import {
  connectIoredis,
  fromIoredis,
  isIoredisClient,
  type IoredisClient,
  type RedisClientLike,
} from './client.ts';
import type { DurabilityAssertion } from './durability.ts';
import { DEFAULT_KEY_PREFIX } from './layout.ts';
import { RedisStore } from './store.ts';

export { fromIoredis, type IoredisClient, type RedisClientLike, type RedisSubscriberLike } from './client.ts';
export type { DurabilityAssertion } from './durability.ts';
export { bucketOf, recordKeys, type RecordKeys, BUCKETS, LAYOUT_VERSION } from './layout.ts';

interface CommonOptions {
  /**
   * Prefix of every key the store writes (default `retrysafe:`). Several stores or test runs can share
   * a server under different prefixes. Must not contain `{` or `}` (those mark the hash tag).
   */
  readonly keyPrefix?: string;
  /**
   * Accept a server that keeps nothing on disk (`appendonly no`, or `appendfsync no`). Only for tests
   * and local development: a restart loses every reservation, and a lost reservation can turn into a
   * duplicate write.
   */
  readonly allowVolatile?: boolean;
  /**
   * For servers whose CONFIG command is disabled (many managed services): your statement that the
   * server keeps an append-only file fsynced on every write (`aof-always`) or every second
   * (`aof-everysec`). Without it such a server is refused, because the store will not guess.
   */
  readonly durability?: DurabilityAssertion;
  /**
   * While waiting on an in-flight key, also re-read it this often in case a notification was lost
   * (for example while the subscriber reconnected). Default 1000.
   */
  readonly pollIntervalMs?: number;
  /**
   * Settled records expire by themselves this long after their tombstone ends; `gc()` deletes them at
   * the tombstone's end. Until then a record past its tombstone still carries its attempt counter.
   * Default one hour. Their audit log is not part of this: see `auditRetentionMs`.
   */
  readonly expiryGraceMs?: number;
  /**
   * Replicas that must hold every transition a later decision depends on (reserve, settle, mark
   * unknown, reclaim, resolve, override) before the store reports it: `WAIT replicaAcks
   * replicaAckTimeoutMs` runs in the same round trip as the transition's script, on each shard's
   * primary. Too few acknowledgements is a store failure: a reservation is given back and nothing is
   * sent; an outcome is reported as not recorded, and its record is reconciled later. Default 0 (no
   * wait), which `migrate()` refuses on a primary that has replicas unless
   * `allowUnacknowledgedReplicas` is set. Heartbeats are not waited for.
   */
  readonly replicaAcks?: number;
  /** How long one transition waits for `replicaAcks` replicas. Default 1000. */
  readonly replicaAckTimeoutMs?: number;
  /**
   * Accept a primary with replicas without waiting for any (`replicaAcks` 0). Replication is
   * asynchronous: a failover can promote a replica that lacks the last reservations, and a lost
   * reservation can let a write happen twice.
   */
  readonly allowUnacknowledgedReplicas?: boolean;
  /**
   * How long a key's audit log lives after its latest entry. The log outlives gc and the record's own
   * expiry, as the SQL stores' audit tables do: it is the evidence of late writes, resolutions and
   * overrides. Default: kept for ever (prune deliberately, or set this to your audit retention, for
   * example 400 days).
   */
  readonly auditRetentionMs?: number;
}

/** Options of {@link redisStore}: a client you own, or a URL for a client the store owns. */
export type RedisStoreOptions = CommonOptions &
  (
    | {
        /** An ioredis `Redis` or `Cluster`, or any client adapted to {@link RedisClientLike}. Not closed by the store. */
        readonly client: RedisClientLike | IoredisClient;
        readonly url?: never;
      }
    | {
        /** `redis://...` URL: the store creates an ioredis client (ioredis must be installed) and quits it on close. */
        readonly url: string;
        readonly client?: never;
      }
  );

const DEFAULT_POLL_INTERVAL_MS = 1000;
const DEFAULT_EXPIRY_GRACE_MS = 3_600_000;
const DEFAULT_REPLICA_ACK_TIMEOUT_MS = 1000;

/**
 * Creates a Redis store. Call `migrate()` (the retrysafe client does it on first use): it checks the
 * server's persistence, loads the scripts and records the key layout version.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { retrysafe } from 'retrysafe';
 * import { redisStore } from 'retrysafe/redis';
 *
 * const store = redisStore({ client: new Redis('redis://127.0.0.1:6379'), keyPrefix: 'billing:' });
 * const rs = retrysafe({ store, namespace: 'billing' });
 * ```
 */
export function redisStore(options: RedisStoreOptions): Store {
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  if (/[{}]/.test(keyPrefix)) {
    throw new ConfigurationError(
      `keyPrefix ${JSON.stringify(keyPrefix)} contains a brace; braces mark Redis Cluster hash tags and the ` +
        'store places its own',
    );
  }
  const durability: unknown = options.durability;
  if (durability !== undefined && durability !== 'aof-always' && durability !== 'aof-everysec') {
    throw new ConfigurationError(
      `durability must be 'aof-always' or 'aof-everysec', got ${JSON.stringify(durability)}`,
    );
  }
  const pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
  const expiryGraceMs = nonNegative('expiryGraceMs', options.expiryGraceMs ?? DEFAULT_EXPIRY_GRACE_MS);
  const replicas = nonNegative('replicaAcks', options.replicaAcks ?? 0, 'replicas');
  // WAIT with timeout 0 blocks forever: a transition must be able to fail.
  const replicaAckTimeoutMs = positiveInteger(
    'replicaAckTimeoutMs',
    options.replicaAckTimeoutMs ?? DEFAULT_REPLICA_ACK_TIMEOUT_MS,
  );
  const auditRetentionMs =
    options.auditRetentionMs === undefined
      ? undefined
      : positive('auditRetentionMs', options.auditRetentionMs);
  if (auditRetentionMs !== undefined && !Number.isSafeInteger(auditRetentionMs)) {
    throw new ConfigurationError(
      `auditRetentionMs must be a whole number of milliseconds, got ${auditRetentionMs}`,
    );
  }

  // Checked at run time too: JavaScript callers can pass both or neither.
  const given = options as { readonly client?: unknown; readonly url?: unknown };
  if ((given.client === undefined) === (given.url === undefined)) {
    throw new ConfigurationError('redisStore needs exactly one of `client` or `url`');
  }
  let client: RedisClientLike;
  let release = (): Promise<void> => Promise.resolve();
  if (options.url !== undefined) {
    const owned = connectIoredis(options.url);
    client = fromIoredis(owned);
    release = async () => {
      await owned.quit().catch(() => undefined);
    };
  } else {
    const supplied = options.client;
    client = isIoredisClient(supplied) ? fromIoredis(supplied) : supplied;
  }

  return new RedisStore({
    client,
    keyPrefix,
    allowVolatile: options.allowVolatile ?? false,
    durability: options.durability,
    pollIntervalMs,
    expiryGraceMs,
    replicaAcks: { replicas, timeoutMs: replicaAckTimeoutMs },
    allowUnacknowledgedReplicas: options.allowUnacknowledgedReplicas ?? false,
    auditRetentionMs,
    release,
  });
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigurationError(`${name} must be a positive number of milliseconds, got ${String(value)}`);
  }
  return value;
}

function nonNegative(name: string, value: number, unit = 'milliseconds'): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ConfigurationError(`${name} must be a whole number of ${unit} >= 0, got ${String(value)}`);
  }
  return value;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigurationError(`${name} must be a whole number of milliseconds > 0, got ${String(value)}`);
  }
  return value;
}
