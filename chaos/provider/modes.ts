import {
  checkout,
  HOUR,
  idempotencyKeyHeader,
  MINUTE,
  resendWithinMs,
  stripe,
  type ProviderProfile,
} from '../../src/providers/index.ts';

/**
 * How the chaos provider treats idempotency keys (`--provider MODE`).
 * - `lenient`: the harness's original provider, kinder than any reference: it ignores keys (or, with
 *   `--native-keys`, caches successes only), never stores a failed answer, never forgets a key, has a
 *   consistent lookup; its hangs are ended by the implementations' own client timeout. Kept so long runs
 *   stay comparable.
 * - `stripe`, `checkout`, `ietf`, `no-native-key`: the documented semantics of
 *   shared/reference/provider-idempotency-semantics.md, time-compressed (see `TIME_SCALE`).
 */
export const PROVIDER_MODES = ['lenient', 'stripe', 'checkout', 'ietf', 'no-native-key'] as const;
export type ProviderMode = (typeof PROVIDER_MODES)[number];

/**
 * Real durations are divided by this: one real hour is 5 s of a run, so Stripe's 24 h retention is 2 min,
 * longer than a run of a few hundred operations and its reconciliation (a burned key stays burned, as it
 * does for a day in production), and a long run outlives many keys (retention ends).
 */
export const TIME_SCALE = 720;

const compressed = (ms: number): number => Math.round(ms / TIME_SCALE);

/** What the provider keeps under a key it honours. */
export type KeyReplay =
  /** Every answer once the request began executing, 5xx included, replayed and marked (Stripe v1). */
  | 'stored-response'
  /** Only 2xx answers; a 4xx/5xx leaves the key free and the next request is attempted again. */
  | 'stored-success';

/** One strict mode's semantics, in compressed time. */
export interface StrictMode {
  readonly mode: Exclude<ProviderMode, 'lenient'>;
  /** The header that carries the native key; null: the provider has none (requests are never deduplicated). */
  readonly keyHeader: string | null;
  readonly replay: KeyReplay;
  /** `Idempotent-Replayed: true` on a replayed answer. */
  readonly marksReplays: boolean;
  /** A key is forgotten this long after its first request. */
  readonly retentionMs: number;
  /** Status of a request without the key (the draft's 400); null: a missing key is just a request without one. */
  readonly missingKeyStatus: number | null;
  /** Status of a used key with a different body; null: not checked (not documented), the stored answer is replayed. */
  readonly mismatchStatus: number | null;
  /** The lookup (list or search by marker) sees a write only after a lag drawn up to this. */
  readonly lookupLagMaxMs: number;
  /** The profile the retrysafe implementation classifies answers with (null: its own rule). */
  readonly profile: ProviderProfile | null;
  /**
   * What a user would declare, as docs/providers.md says: the re-send window from the profile
   * (`resendWithinMs(profile)`: the key's retention, 0 for a provider that caches only successes) and
   * the lookup's settle delay.
   */
  readonly resendWithinMs: number;
  readonly lookupSettleMs: number;
}

const IETF_RETENTION_MS = 24 * HOUR;
/** The draft leaves the lookup to the API; assumed: a list that lags by up to 10 minutes. */
const IETF_SETTLE_MS = 10 * MINUTE;
/** A GitHub-like API: a marker in the body, a list that lags by up to 10 minutes. */
const NO_KEY_SETTLE_MS = 10 * MINUTE;

const stripeSettle = stripe.lookup?.settleMs ?? HOUR;
const checkoutSettle = checkout.lookup?.settleMs ?? MINUTE;

export const STRICT_MODES: Readonly<Record<StrictMode['mode'], StrictMode>> = {
  // Stores every answer after execution begins, 500s included, and replays it marked; 409 while the
  // first request runs; a different body under a used key: 400 `idempotency_error` (the reference
  // leaves 400 vs 409 unverified); keys pruned after 24 h; the Search API lags, up to the profile's 1 h.
  stripe: {
    mode: 'stripe',
    keyHeader: 'Idempotency-Key',
    replay: 'stored-response',
    marksReplays: true,
    retentionMs: compressed(stripe.retention.floorMs ?? 24 * HOUR),
    missingKeyStatus: null,
    mismatchStatus: 400,
    lookupLagMaxMs: compressed(stripeSettle),
    profile: stripe,
    resendWithinMs: compressed(resendWithinMs(stripe)),
    lookupSettleMs: compressed(stripeSettle),
  },
  // Only 2xx cached; a 4xx/5xx is attempted again under the same key; 409 while in progress; mismatch
  // not documented; 24 h; `GET /payments?reference=` lag undocumented: the profile's 1 min.
  checkout: {
    mode: 'checkout',
    keyHeader: 'Cko-Idempotency-Key',
    replay: 'stored-success',
    marksReplays: false,
    retentionMs: compressed(checkout.retention.floorMs ?? 24 * HOUR),
    missingKeyStatus: null,
    mismatchStatus: null,
    lookupLagMaxMs: compressed(checkoutSettle),
    profile: checkout,
    // 0: a re-send after an answer we never saw (a 5xx after the effect, not cached) charges again.
    resendWithinMs: compressed(resendWithinMs(checkout)),
    lookupSettleMs: compressed(checkoutSettle),
  },
  // draft-ietf-httpapi-idempotency-key-header: 400 without the key, 409 while the original runs, 422
  // for a different payload; the draft does not mark replays nor say which answers are kept: every
  // answer is (the harsher reading), so a stored 5xx burns the key without a replay marker.
  ietf: {
    mode: 'ietf',
    keyHeader: 'Idempotency-Key',
    replay: 'stored-response',
    marksReplays: false,
    retentionMs: compressed(IETF_RETENTION_MS),
    missingKeyStatus: 400,
    mismatchStatus: 422,
    lookupLagMaxMs: compressed(IETF_SETTLE_MS),
    profile: idempotencyKeyHeader({ retentionMs: IETF_RETENTION_MS }),
    resendWithinMs: compressed(IETF_RETENTION_MS),
    lookupSettleMs: compressed(IETF_SETTLE_MS),
  },
  // No key honoured at all (GitHub issues, Jira, Slack): every request that arrives writes; only a marker
  // in the body and a list that lags tell whether a write happened.
  'no-native-key': {
    mode: 'no-native-key',
    keyHeader: null,
    replay: 'stored-success',
    marksReplays: false,
    retentionMs: 0,
    missingKeyStatus: null,
    mismatchStatus: null,
    lookupLagMaxMs: compressed(NO_KEY_SETTLE_MS),
    profile: null,
    resendWithinMs: 0,
    lookupSettleMs: compressed(NO_KEY_SETTLE_MS),
  },
};

/** Parses `--provider`. */
export function providerMode(text: string): ProviderMode {
  if (!(PROVIDER_MODES as readonly string[]).includes(text)) {
    throw new Error(`--provider must be one of ${PROVIDER_MODES.join(', ')}`);
  }
  return text as ProviderMode;
}

/** The strict mode's semantics, or undefined for `lenient`. */
export function strictMode(mode: ProviderMode): StrictMode | undefined {
  return mode === 'lenient' ? undefined : STRICT_MODES[mode];
}
