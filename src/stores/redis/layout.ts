import type { IdempotencyRecord, RecordState } from '../../machine/record.ts';

/**
 * Version of the key layout below. `migrate()` records it, so a future layout can refuse to run on
 * data it does not understand.
 */
export const LAYOUT_VERSION = 1;

/**
 * Keys are spread over this many hash-tag buckets. Every key of one record and the indexes of its
 * bucket share the tag `{<bucket>}`, so a script can update a record and its bucket's indexes in one
 * atomic step on Redis Cluster too (a cluster cannot hold one global index across slots). Fixed by
 * layout version 1: changing it would move every key.
 */
export const BUCKETS = 256;

/** Index order of the per-state sorted sets in every script's KEYS (mirrored in `scripts/lib.lua`). */
export const STATES: readonly RecordState[] = ['in_flight', 'succeeded', 'failed', 'unknown', 'released'];

export const DEFAULT_KEY_PREFIX = 'retrysafe:';

/**
 * The bucket of a key: FNV-1a over its UTF-8 bytes. Part of the layout, so it must never change.
 */
export function bucketOf(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i] ?? 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % BUCKETS;
}

/** `<prefix>{<bucket>}:`: the start of every key in one bucket. */
export function bucketBase(prefix: string, bucket: number): string {
  return `${prefix}{${bucket}}:`;
}

/** Keys that belong to one bucket: the per-state indexes, the expiry indexes and the override requests. */
export interface BucketKeys {
  readonly base: string;
  /** Sorted sets of the bucket's keys per state, scored by `updatedAt`, in `STATES` order. */
  readonly states: readonly string[];
  /** Sorted set of keys whose result is still held, scored by `expiresAt` (gc compacts them). */
  readonly compaction: string;
  /** Sorted set of settled keys scored by `tombstoneUntil` (gc deletes them). */
  readonly deletion: string;
  /** Hash of override request id to the request as JSON, for every key in the bucket. */
  readonly overrides: string;
}

/** Every call names a bucket's keys: build them once per prefix and bucket. */
const bucketKeysCache = new Map<string, BucketKeys[]>();

export function bucketKeys(prefix: string, bucket: number): BucketKeys {
  let buckets = bucketKeysCache.get(prefix);
  if (buckets === undefined) {
    buckets = [];
    bucketKeysCache.set(prefix, buckets);
  }
  let keys = buckets[bucket];
  if (keys === undefined) {
    const base = bucketBase(prefix, bucket);
    keys = Object.freeze({
      base,
      states: Object.freeze(STATES.map((state) => `${base}s:${state}`)),
      compaction: `${base}exp`,
      deletion: `${base}tomb`,
      overrides: `${base}ov`,
    });
    buckets[bucket] = keys;
  }
  return keys;
}

/** Every Redis name that concerns one record. */
export interface RecordKeys {
  readonly bucket: BucketKeys;
  /** Hash with the record's fields (absent field = null). */
  readonly record: string;
  /** List of the key's audit entries as JSON; the entry id is its position (1-based). */
  readonly audit: string;
  /** Pub/sub channel a script publishes on when the record leaves a state a waiter may be waiting on. */
  readonly channel: string;
  /** KEYS of every per-record script, in the order `scripts/lib.lua` expects. */
  readonly scriptKeys: readonly string[];
}

/**
 * Names for `key` under `prefix`: `<prefix>{<bucket>}:r:<key>` (record), `...:a:<key>` (audit),
 * `...:c:<key>` (channel). Exposed for operators and tests (for example to read a record's PTTL).
 *
 * @example
 * ```ts
 * const names = recordKeys('retrysafe:', key);
 * await redis.pexpiretime(names.record); // -1 while in flight
 * ```
 */
export function recordKeys(prefix: string, key: string): RecordKeys {
  const bucket = bucketKeys(prefix, bucketOf(key));
  const record = `${bucket.base}r:${key}`;
  const audit = `${bucket.base}a:${key}`;
  return {
    bucket,
    record,
    audit,
    channel: `${bucket.base}c:${key}`,
    scriptKeys: [record, audit, ...bucket.states, bucket.compaction, bucket.deletion, bucket.overrides],
  };
}

/** Key of the hash that records the layout version (`migrate()`). */
export function metaKey(prefix: string): string {
  return `${prefix}meta`;
}

/** Turns a script's flat `[field, value, ...]` reply into a record; an empty reply is no record. */
export function decodeRecord(reply: unknown): IdempotencyRecord | undefined {
  if (!Array.isArray(reply)) throw new TypeError(`unexpected record reply from Redis: ${String(reply)}`);
  if (reply.length === 0) return undefined;
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < reply.length; i += 2) {
    fields.set(String(reply[i]), String(reply[i + 1]));
  }
  const text = (name: string): string | null => fields.get(name) ?? null;
  const number = (name: string): number | null => {
    const value = fields.get(name);
    return value === undefined ? null : Number(value);
  };
  const required = <T>(name: string, value: T | null): T => {
    if (value === null) throw new TypeError(`record in Redis lacks the field ${name}`);
    return value;
  };
  return {
    key: required('key', text('key')),
    operation: required('operation', text('operation')),
    fingerprint: required('fingerprint', text('fingerprint')),
    state: required('state', text('state')) as RecordState,
    attempt: required('attempt', number('attempt')),
    generation: required('generation', number('generation')),
    leaseOwner: text('leaseOwner'),
    leaseUntil: number('leaseUntil'),
    result: text('result'),
    request: text('request'),
    keyFields: text('keyFields'),
    providerRef: text('providerRef'),
    reason: text('reason'),
    overrideFingerprint: text('overrideFingerprint'),
    createdAt: required('createdAt', number('createdAt')),
    updatedAt: required('updatedAt', number('updatedAt')),
    expiresAt: number('expiresAt'),
    tombstoneUntil: number('tombstoneUntil'),
    overrideAttempt: number('overrideAttempt'),
  };
}

/** Nullable strings travel to the scripts as `''` (null) or `'=' + value`, so `''` itself survives. */
export function optional(value: string | null | undefined): string {
  return value === null || value === undefined ? '' : `=${value}`;
}
