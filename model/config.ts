/**
 * The small worlds the model checker explores: how many workers on how many logical operations, what
 * the provider does (the reference's behaviours as parameters), and how many faults may happen.
 */

/** A fault the provider (or the network in front of it) may inject on one request. */
export type FaultKind =
  /** 500 before the effect: nothing happened. */
  | '5xx-before'
  /** 500 after the effect: the write happened, the answer says otherwise. */
  | '5xx-after'
  /** The request never arrived: no effect, the caller times out. */
  | 'lost-request'
  /** The write happened and its answer was lost: the caller times out. */
  | 'lost-answer'
  /** Connection refused before a byte was sent: provably not performed. */
  | 'refused'
  /** The provider holds the request and never answers, nor performs it. */
  | 'hang';

/** The three fault families a provider behaviour is checked under. */
export const FAULT_FAMILIES = {
  '5xx': ['5xx-before', '5xx-after', 'refused'],
  lost: ['lost-request', 'lost-answer'],
  hang: ['hang'],
} as const satisfies Record<string, readonly FaultKind[]>;
export type FaultFamily = keyof typeof FAULT_FAMILIES;

/** What the provider does with keys, errors, retention and lookups (shared/reference, time compressed). */
export interface ProviderBehaviour {
  /** The provider has a native idempotency key field and dedupes on it. */
  readonly nativeKey: boolean;
  /**
   * Every answer is stored under the key and replayed, 5xx included (Stripe); false: only a performed
   * write is remembered (Checkout.com caches 2xx only).
   */
  readonly storesErrors: boolean;
  /** The provider forgets a key this many clock steps after its first request (null: never, in the model). */
  readonly retentionSteps: number | null;
  /** How reconciliation can ask: no lookup, a consistent one, or one lagging behind writes. */
  readonly lookup: 'none' | 'consistent' | 'lagging';
  /** A lagging lookup may miss a write for this many clock steps; it is the profile's settle delay. */
  readonly lagSteps: number;
  readonly faults: FaultFamily;
}

export interface ModelConfig {
  readonly name: string;
  readonly workers: number;
  readonly operations: number;
  readonly provider: ProviderBehaviour;
  /** Provider faults in the whole run. */
  readonly faultBudget: number;
  /** Worker crashes (kill -9 at any point between two steps) in the whole run. */
  readonly crashBudget: number;
  /** Pauses past the lease (SIGSTOP while the provider holds the answer, then SIGCONT) in the whole run. */
  readonly pauseBudget: number;
  /** A pause may also fall between the reservation and the send (see docs/model-check.md). */
  readonly pauseBeforeSend: boolean;
  /** The last worker brings a different payload for the same key. */
  readonly mismatchWorker: boolean;
  /** An operator who may resolve an unknown key and request/approve an override (two identities). */
  readonly operator: boolean;
  /** The clock stops here (in steps); a run that needs longer is cut off and reported at the horizon. */
  readonly horizonSteps: number;
  /** "Within a bounded number of attempts": more claims of one key than this is a violation. */
  readonly attemptBound: number;
  /** Worker calls stop their request at the deadline (`signal` honoured) or ignore it. */
  readonly callHonoursSignal: boolean;
}

/** Milliseconds per clock step: half a lease, so a holder that renews keeps its claim across one step. */
export const STEP_MS = 500;
export const LEASE_MS = 2 * STEP_MS;
/** Attempt deadline the world's operation declares, when the rules have one. */
export const ATTEMPT_TIMEOUT_MS = 2 * STEP_MS;

const KEY_VARIANTS = {
  'no-key': { nativeKey: false, storesErrors: false, retentionSteps: null },
  '2xx-only': { nativeKey: true, storesErrors: false, retentionSteps: null },
  '2xx-only-forgets': { nativeKey: true, storesErrors: false, retentionSteps: 2 },
  'stores-5xx': { nativeKey: true, storesErrors: true, retentionSteps: null },
  'stores-5xx-forgets': { nativeKey: true, storesErrors: true, retentionSteps: 2 },
} as const;
export type KeyVariant = keyof typeof KEY_VARIANTS;

const LOOKUPS = {
  'no-lookup': { lookup: 'none', lagSteps: 0 },
  consistent: { lookup: 'consistent', lagSteps: 0 },
  lagging: { lookup: 'lagging', lagSteps: 1 },
} as const;
export type LookupVariant = keyof typeof LOOKUPS;

export function providerBehaviour(
  key: KeyVariant,
  lookup: LookupVariant,
  faults: FaultFamily,
): ProviderBehaviour {
  return { ...KEY_VARIANTS[key], ...LOOKUPS[lookup], faults };
}

/** A configuration with the defaults: one fault, one crash, one pause, no operator. */
export function configure(
  name: string,
  provider: ProviderBehaviour,
  overrides: Partial<Omit<ModelConfig, 'name' | 'provider'>> = {},
): ModelConfig {
  const base = {
    workers: 2,
    operations: 1,
    faultBudget: 1,
    crashBudget: 1,
    pauseBudget: 1,
    pauseBeforeSend: false,
    mismatchWorker: false,
    operator: false,
    callHonoursSignal: true,
    ...overrides,
  };
  const disruptions = base.faultBudget + base.crashBudget + base.pauseBudget;
  return {
    name,
    provider,
    horizonSteps: 6 + 4 * disruptions + provider.lagSteps * (disruptions + 1),
    // One first claim per worker, and each disruption may cost a re-send and a reclaim after a lookup.
    attemptBound: base.workers + 2 * disruptions + 1,
    ...base,
    ...overrides,
  };
}

/** Every provider behaviour: key handling x lookup x fault family. */
export function everyProviderBehaviour(): { readonly label: string; readonly provider: ProviderBehaviour }[] {
  const out: { label: string; provider: ProviderBehaviour }[] = [];
  for (const key of Object.keys(KEY_VARIANTS) as KeyVariant[]) {
    for (const lookup of Object.keys(LOOKUPS) as LookupVariant[]) {
      for (const faults of Object.keys(FAULT_FAMILIES) as FaultFamily[]) {
        out.push({ label: `${key}/${lookup}/${faults}`, provider: providerBehaviour(key, lookup, faults) });
      }
    }
  }
  return out;
}

/** Describes a configuration in one line, for reports. */
export function describeConfig(config: ModelConfig): string {
  const p = config.provider;
  const key = p.nativeKey
    ? `native key, ${p.storesErrors ? 'stores every answer (5xx too)' : 'remembers performed writes only'}` +
      (p.retentionSteps === null ? '' : `, forgets after ${p.retentionSteps} steps`)
    : 'no native key';
  const lookup =
    p.lookup === 'none'
      ? 'no lookup'
      : p.lookup === 'consistent'
        ? 'consistent lookup'
        : `lookup lagging ${p.lagSteps} step`;
  const extras = [
    config.mismatchWorker ? 'a worker with another payload' : '',
    config.operator ? 'an operator (resolve, override by two identities)' : '',
    config.pauseBeforeSend ? 'pause also before the send' : '',
    config.callHonoursSignal ? '' : 'calls ignore their signal',
  ].filter((part) => part !== '');
  return (
    `${config.workers} workers x ${config.operations} operation${config.operations === 1 ? '' : 's'}; ` +
    `${key}; ${lookup}; faults ${p.faults} (budget ${config.faultBudget}); ` +
    `${config.crashBudget} crash, ${config.pauseBudget} pause` +
    (extras.length === 0 ? '' : `; ${extras.join(', ')}`)
  );
}
