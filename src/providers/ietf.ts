import type { HttpAnswer, ProviderLookup, ProviderProfile, ReplayKind } from './types.ts';

/** What the standard leaves to each API: how long keys are kept, how replays look, how to look up. */
export interface IdempotencyKeyHeaderOptions {
  /** Guaranteed key retention in ms; null when the API does not publish one (never re-send). */
  readonly retentionMs: number | null;
  /** @default 'Idempotency-Key' */
  readonly header?: string;
  readonly maxLength?: number;
  /** @default 'unspecified' */
  readonly replay?: ReplayKind;
  /** Recognises a replayed success (some APIs send `Idempotent-Replayed: true`). */
  readonly replayed?: (answer: HttpAnswer) => boolean;
  readonly lookup?: ProviderLookup;
}

/**
 * The generic `Idempotency-Key` header profile of the IETF draft (draft-ietf-httpapi-idempotency-key-header,
 * section 2.7 as quoted by implementations [doc]): a missing key is 400 (a definitive failure here: a
 * configuration bug), a retry while the original still runs is 409 (retried with the same key), a key
 * reused with a different payload is 422 (a mismatch: never retried). Retention is the API's own.
 *
 * An operation on it must keep its records no longer than the API remembers keys (`ttlMs` at most
 * `retentionMs`), unless you give it a `lookup` so an unknown outcome past the retention can be found.
 *
 * @example
 * ```ts
 * const profile = idempotencyKeyHeader({ retentionMs: 24 * HOUR });
 * const send = idempotentFetch(rs, { name: 'send', version: 1, profile, ttlMs: 24 * HOUR });
 * // or keep records longer, with a lookup:
 * const withLookup = idempotencyKeyHeader({ retentionMs: 24 * HOUR, lookup: { settleMs: 0, find } });
 * ```
 */
export function idempotencyKeyHeader(options: IdempotencyKeyHeaderOptions): ProviderProfile {
  return {
    name: 'idempotency-key-header',
    key: { in: 'header', name: options.header ?? 'Idempotency-Key' },
    format: options.maxLength === undefined ? {} : { maxLength: options.maxLength },
    retention: { floorMs: options.retentionMs, countsFrom: 'first-request' },
    replay: options.replay ?? 'unspecified',
    signals: {
      inProgress: (a) => a.status === 409,
      mismatch: (a) => a.status === 422,
      ...(options.replayed === undefined ? {} : { replayed: options.replayed }),
    },
    ...(options.lookup === undefined ? {} : { lookup: options.lookup }),
  };
}
