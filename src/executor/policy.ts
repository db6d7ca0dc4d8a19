import { ConfigurationError } from '../errors/errors.ts';
import type { IdempotencyRecord } from '../machine/record.ts';

const SECOND = 1000;
const DAY = 86_400 * SECOND;
const MIB = 1024 * 1024;

/** The longest delay a Node timer takes (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** The longest retention a policy may declare (10 years): past it `now + ttl` stops being a sane time. */
export const MAX_RETENTION_MS = 3_650 * DAY;

/**
 * How a failure of the wrapped call is classified (SEMANTICS.md, invariant 5). The four unknown kinds
 * all record the outcome as `unknown`; they differ in what they say about the provider key
 * (invariant 12):
 * - `unknown`: whether the provider answered is read from the error: an HTTP status on it (or its
 *   `cause`/`response`) is an answer, anything else (timeout, reset) is no answer;
 * - `unknown_answered`: the provider answered, but not definitively (a 5xx): it may have stored that
 *   answer under the key, so a re-send under the same key may only replay it;
 * - `unknown_no_answer`: no answer reached us: a re-send under the same key is still useful;
 * - `burned`: the provider will only ever replay this non-definitive answer for this key (a 5xx marked
 *   as a replay, e.g. `Idempotent-Replayed: true`): after a trusted lookup says the write did not happen,
 *   the next attempt gets a new provider key.
 */
export type Classification =
  'failed' | 'not_performed' | 'unknown' | 'unknown_answered' | 'unknown_no_answer' | 'burned';

/** What the wrapped call gets besides its input. */
export interface CallContext {
  /** Our idempotency key for this logical operation. */
  readonly key: string;
  /** The key to send in the provider's native idempotency field (UUIDv5 of key and generation). */
  readonly providerKey: string;
  /** This attempt's fencing number. */
  readonly attempt: number;
  /** Override generation; changes the provider key. */
  readonly generation: number;
  /**
   * Aborted when this attempt loses its lease, or passes `attemptTimeoutMs` (the reason is then an
   * `AttemptTimeoutError`): stop and do not start new side effects. Pass it to your HTTP client.
   */
  readonly signal: AbortSignal;
}

/** A provider lookup's three-valued answer (SEMANTICS.md, invariant 8). */
export type LookupAnswer<T> =
  | { readonly status: 'found'; readonly value: T; readonly providerRef?: string }
  | { readonly status: 'absent' }
  | { readonly status: 'unknown'; readonly reason?: string };

/**
 * What a lookup gets besides the payload: the write's logical identity, so it can search the provider
 * by it (an order id) whether or not the payload carries it. `I` is the operation's input, `K` what its
 * `key` function returns.
 */
export interface LookupContext<I = unknown, K = unknown> {
  readonly key: string;
  readonly providerKey: string;
  /** The attempt whose outcome is being established. */
  readonly attempt: number;
  readonly record: IdempotencyRecord;
  /** Aborted past `lookupTimeoutMs` (reason: `LookupTimeoutError`); the lookup then counts as unknown. */
  readonly signal: AbortSignal;
  /**
   * The key fields (what `key(input)` returned), as JSON gives them back: from the live call, or from
   * the record (batch reconciliation), which keeps them. The same value either way.
   */
  readonly fields: K;
  /** The scope (`scope(input)`), undefined when the operation has none. */
  readonly scope: string | undefined;
  /** The caller's input in a live call; undefined in batch reconciliation, which has only the record. */
  readonly input: I | undefined;
}

/** Timing and failure policy of an operation. All durations are milliseconds. */
export interface OperationPolicy {
  /**
   * How long the full record (with its result) is kept after the outcome is recorded. Must cover the
   * longest retry/redelivery chain of the trigger (`retryWindowMs`).
   * @default 7 days
   */
  readonly ttlMs: number;
  /**
   * How long the compact tombstone (fingerprint, outcome, provider reference) outlives the TTL, so a
   * late replay is recognised instead of performed again. After it, the key means a new write.
   * @default 30 days
   */
  readonly tombstoneMs: number;
  /** Lease of one attempt; renewed every third of it while the call runs. @default 30 s */
  readonly leaseMs: number;
  /** How long a caller waits for another attempt in flight; 0 raises `InFlightError` at once. @default 30 s */
  readonly waitMs: number;
  /** A stored `failed` outcome allows a new attempt instead of replaying the failure. @default false */
  readonly retryFailed: boolean;
  /**
   * The trigger's retry/redelivery window (queue redelivery, webhook retries). The TTL must cover it;
   * declaring a shorter TTL is a configuration error. @default 0 (not declared)
   */
  readonly retryWindowMs: number;
  /**
   * The provider honours our provider key for this long after the first request (its retention), so
   * re-sending the same request under the same key is safe within it. 0: never re-send. Only for a
   * provider that replays a repeat (Stripe) or answers it from what the first request created: one that
   * caches only successes (Checkout.com, Square) attempts a repeat again after a 5xx, so a re-send after an
   * answer we never saw may charge twice; keep 0 and declare a lookup (`resendWithinMs(profile)` is 0 for
   * those). @default 0
   */
  readonly resendWithinMs: number;
  /** Provider lag: a lookup's `absent` is trusted only this long after the attempt. @default 0 */
  readonly lookupSettleMs: number;
  /**
   * The attempt deadline (SEMANTICS.md, invariant 13): past it the call's `signal` aborts with an
   * `AttemptTimeoutError`, the lease is no longer renewed and the attempt is recorded `unknown` (no
   * answer), to be reconciled as usual. A call that ignores its signal loses the key when its lease
   * lapses; its late result is refused and kept in the audit log. Must be at least `leaseMs` (a longer
   * lease would only delay the takeover of a crashed attempt). The default sits under the official SDKs'
   * own request timeouts (Stripe's Node SDK: 80 s), so a hung request is ended by us rather than by a
   * socket default (undici's header timeout: 300 s).
   * @default 60 s
   */
  readonly attemptTimeoutMs: number;
  /**
   * Deadline of one provider lookup during reconciliation: past it the lookup's `signal` aborts and the
   * answer counts as unknown, so `rs.reconcile` and `retrysafe reconcile` never hang. Re-sends are
   * attempts and have `attemptTimeoutMs`.
   * @default 30 s
   */
  readonly lookupTimeoutMs: number;
  /**
   * The provider stores a non-definitive answer (a 5xx) under its key and replays it (Stripe). When
   * false (a provider that caches only successes, such as Checkout.com), such an answer never burns the
   * key and a re-send under it may still perform the write.
   * @default true (assume the answer is stored: it is never re-sent in the hope of a different answer)
   */
  readonly providerStoresErrors: boolean;
  /**
   * How many times one call re-sends under the same provider key after an ambiguous failure, within the
   * provider's retention (`resendWithinMs`) and while the key is not known to replay an answer, before
   * `OutcomeUnknownError` reaches the caller. 0: never inside the call. @default 2
   */
  readonly resendAttempts: number;
  /** Wait before the first such re-send, doubled for each next one. @default 200 ms */
  readonly resendBackoffMs: number;
  /**
   * Largest canonical payload (UTF-8 bytes) a call may have; a larger one is refused with
   * `PayloadTooLargeError` before anything is reserved or sent. @default 1 MiB
   */
  readonly maxPayloadBytes: number;
  /**
   * Largest result (UTF-8 bytes of its stored JSON) kept for replays. A larger result of a write that
   * happened is not lost: the record is `succeeded` with its provider reference and a reason saying the
   * result was too large; replays then behave as a tombstone hit (`onTombstone`). @default 4 MiB
   */
  readonly maxResultBytes: number;
}

export const DEFAULT_POLICY: OperationPolicy = Object.freeze({
  ttlMs: 7 * DAY,
  tombstoneMs: 30 * DAY,
  leaseMs: 30 * SECOND,
  waitMs: 30 * SECOND,
  retryFailed: false,
  retryWindowMs: 0,
  resendWithinMs: 0,
  lookupSettleMs: 0,
  attemptTimeoutMs: 60 * SECOND,
  lookupTimeoutMs: 30 * SECOND,
  providerStoresErrors: true,
  resendAttempts: 2,
  resendBackoffMs: 200,
  maxPayloadBytes: MIB,
  maxResultBytes: 4 * MIB,
});

/** In-call re-sends are a bounded courtesy, not a retry policy: reconciliation does the rest. */
const MAX_RESEND_ATTEMPTS = 10;

const POLICY_OPTIONS = Object.keys(DEFAULT_POLICY) as readonly (keyof OperationPolicy)[];

const DURATIONS = [
  'ttlMs',
  'tombstoneMs',
  'leaseMs',
  'waitMs',
  'retryWindowMs',
  'resendWithinMs',
  'lookupSettleMs',
  'attemptTimeoutMs',
  'lookupTimeoutMs',
  'resendBackoffMs',
] as const satisfies readonly (keyof OperationPolicy)[];

/** Durations a timer waits for: bounded by what a Node timer can take. */
const TIMER_DURATIONS = [
  'leaseMs',
  'waitMs',
  'attemptTimeoutMs',
  'lookupTimeoutMs',
  'resendBackoffMs',
] as const satisfies readonly (keyof OperationPolicy)[];

const SIZES = ['maxPayloadBytes', 'maxResultBytes'] as const satisfies readonly (keyof OperationPolicy)[];

/** Merges and checks a policy; throws `ConfigurationError` naming the option and the numbers. */
export function resolvePolicy(
  where: string,
  ...layers: readonly (Partial<OperationPolicy> | undefined)[]
): OperationPolicy {
  const merged: Record<string, unknown> = { ...DEFAULT_POLICY };
  // Layers may be whole operation definitions: take only the policy's own options from them.
  for (const layer of layers) {
    for (const name of POLICY_OPTIONS) {
      const value: unknown = layer?.[name];
      if (value !== undefined) merged[name] = value;
    }
  }
  const policy = merged as unknown as OperationPolicy;
  for (const name of DURATIONS) {
    const value = policy[name];
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ConfigurationError(
        `${where}: ${name} must be a non-negative integer of ms, got ${String(value)}`,
      );
    }
    // resendWithinMs is only compared, never stored: Number.MAX_SAFE_INTEGER is its "forever" (natural
    // idempotency, where a re-send is always safe).
    if (name === 'resendWithinMs') continue;
    const max = (TIMER_DURATIONS as readonly string[]).includes(name) ? MAX_TIMER_MS : MAX_RETENTION_MS;
    if (value > max) {
      throw new ConfigurationError(
        `${where}: ${name} must be at most ${max} ms` +
          (max === MAX_TIMER_MS ? ' (the longest Node timer, about 24.8 days)' : ' (10 years)') +
          `, got ${value}`,
      );
    }
  }
  for (const name of SIZES) {
    const value = policy[name];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new ConfigurationError(
        `${where}: ${name} must be a positive integer of bytes, got ${String(value)}`,
      );
    }
  }
  for (const name of ['retryFailed', 'providerStoresErrors'] as const) {
    if (typeof (policy[name] as unknown) !== 'boolean') {
      throw new ConfigurationError(`${where}: ${name} must be a boolean`);
    }
  }
  if (
    !Number.isSafeInteger(policy.resendAttempts) ||
    policy.resendAttempts < 0 ||
    policy.resendAttempts > MAX_RESEND_ATTEMPTS
  ) {
    throw new ConfigurationError(
      `${where}: resendAttempts must be an integer from 0 to ${MAX_RESEND_ATTEMPTS}, got ${String(policy.resendAttempts)}`,
    );
  }
  if (policy.attemptTimeoutMs === 0)
    throw new ConfigurationError(`${where}: attemptTimeoutMs must be above 0`);
  if (policy.lookupTimeoutMs === 0) throw new ConfigurationError(`${where}: lookupTimeoutMs must be above 0`);
  if (policy.leaseMs > policy.attemptTimeoutMs) {
    throw new ConfigurationError(
      `${where}: leaseMs (${policy.leaseMs}) is longer than attemptTimeoutMs (${policy.attemptTimeoutMs}): ` +
        'a live attempt never needs its lease past its deadline, and a longer lease only delays taking ' +
        `over a crashed one. Lower leaseMs to at most ${policy.attemptTimeoutMs}, or raise attemptTimeoutMs.`,
    );
  }
  if (policy.ttlMs === 0) throw new ConfigurationError(`${where}: ttlMs must be above 0`);
  if (policy.leaseMs < 3) throw new ConfigurationError(`${where}: leaseMs must be at least 3 ms`);
  if (policy.ttlMs < policy.retryWindowMs) {
    throw new ConfigurationError(
      `${where}: ttlMs (${policy.ttlMs}) is shorter than the trigger's retryWindowMs (${policy.retryWindowMs}); ` +
        `a redelivery after the TTL would be performed again. Raise ttlMs to at least ${policy.retryWindowMs}.`,
    );
  }
  return Object.freeze(policy);
}
