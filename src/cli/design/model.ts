import {
  ConfigurationError,
  DEFAULT_POLICY,
  fingerprint,
  retrysafe,
  RetrySafeError,
  type OperationPolicy,
  type Store,
} from '../../index.ts';
import {
  checkTtl,
  deriveProviderKey,
  lookupSettleMs,
  providerStoresErrors,
  resendWithinMs,
} from '../../providers/index.ts';
import { resolveProvider, type ResolvedProvider } from './profiles.ts';
import type { DesignSpec } from './spec.ts';
import { perAttemptWarnings } from './warnings.ts';

/** A warning about the spec: `--check` fails on any. */
export interface Warning {
  readonly code: string;
  readonly message: string;
}

/** Everything the document says, computed by the code that enforces it at run time. */
export interface Design {
  readonly spec: DesignSpec;
  readonly provider: ResolvedProvider;
  /** The operation's policy: the spec's choices and the design rules over `DEFAULT_POLICY`. */
  readonly policy: OperationPolicy;
  /** The options the design sets on the operation (the rest are `DEFAULT_POLICY`'s). */
  readonly declared: Partial<OperationPolicy>;
  /** `name@version`. */
  readonly id: string;
  readonly example: {
    readonly key: string | undefined;
    readonly providerKey: string | undefined;
    readonly fingerprint: string | undefined;
  };
  readonly warnings: readonly Warning[];
}

const refuse = (): Promise<never> => Promise.reject(new Error('a design document uses no store'));

/**
 * The store an operation is declared on in a design. Declaring touches no store (the client migrates
 * lazily and `migrate: false` is set), so every method refuses.
 */
const NO_STORE: Store = {
  name: 'design',
  capabilities: { serverClock: false, notifications: false },
  migrate: refuse,
  begin: refuse,
  heartbeat: refuse,
  settle: refuse,
  markUnknown: refuse,
  noteUnknown: refuse,
  reclaim: refuse,
  resolve: refuse,
  requestResolution: refuse,
  get: refuse,
  audit: refuse,
  list: refuse,
  count: refuse,
  requestOverride: refuse,
  approveOverride: refuse,
  listOverrides: refuse,
  gc: refuse,
  close: () => Promise.resolve(),
};

export function buildDesign(spec: DesignSpec): Design {
  const provider = resolveProvider(spec);
  const { profile } = provider;
  const warnings: Warning[] = [];
  const floor = profile.retention.floorMs;
  const retryWindowMs = spec.trigger.redeliveryWindowMs;
  // TTL rule: the default, capped by the provider's memory when nothing else can settle an unknown
  // outcome (no lookup), and never shorter than the trigger's redelivery window.
  const baseTtl =
    profile.lookup === undefined && floor !== null
      ? Math.min(DEFAULT_POLICY.ttlMs, floor)
      : DEFAULT_POLICY.ttlMs;
  const declared: Partial<OperationPolicy> = {
    ttlMs: spec.policy.ttlMs ?? Math.max(baseTtl, retryWindowMs),
    retryWindowMs,
    resendWithinMs: resendWithinMs(profile),
    lookupSettleMs: lookupSettleMs(profile),
    providerStoresErrors: providerStoresErrors(profile),
    ...(spec.policy.tombstoneMs === undefined ? {} : { tombstoneMs: spec.policy.tombstoneMs }),
    ...(spec.policy.leaseMs === undefined ? {} : { leaseMs: spec.policy.leaseMs }),
    ...(spec.policy.waitMs === undefined ? {} : { waitMs: spec.policy.waitMs }),
    ...(spec.policy.retryFailed === undefined ? {} : { retryFailed: spec.policy.retryFailed }),
  };
  const policy: OperationPolicy = { ...DEFAULT_POLICY, ...declared };
  const id = `${spec.operation.name}@${spec.operation.version}`;

  // The runtime's own checks: declaring the operation (names, version, resolvePolicy), then the
  // provider's TTL check. Their messages are the warnings, word for word.
  let keyOf: ((input: Readonly<Record<string, unknown>>) => string) | undefined;
  try {
    const rs = retrysafe({ store: NO_STORE, namespace: spec.operation.namespace, migrate: false });
    const scopeField = spec.operation.scope;
    const operation = rs.operation<Readonly<Record<string, unknown>>, unknown>({
      name: spec.operation.name,
      version: spec.operation.version,
      key: (input) => Object.fromEntries(spec.operation.keyFields.map((field) => [field, input[field]])),
      ...(scopeField === undefined ? {} : { scope: (input) => input[scopeField] as string | undefined }),
      call: () => Promise.reject(new Error('a design document calls nothing')),
      ...declared,
    });
    keyOf = (input) => operation.keyOf(input);
  } catch (error) {
    warnings.push({
      code: 'runtime-refuses',
      message: `The runtime refuses this operation: ${messageOf(error)}`,
    });
  }
  try {
    // The redelivery rule is resolvePolicy's (above); checkTtl adds the provider's retention rule.
    checkTtl(profile, {
      operation: id,
      ttlMs: policy.ttlMs,
      retryWindowMs: Math.min(retryWindowMs, policy.ttlMs),
    });
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    warnings.push({ code: 'ttl-vs-provider', message: error.message });
  }

  let key: string | undefined;
  let nativeKey: string | undefined;
  if (keyOf !== undefined) {
    try {
      key = keyOf(spec.operation.example);
      nativeKey = profile.key === null ? undefined : deriveProviderKey(profile, key, 1);
    } catch (error) {
      if (!(error instanceof RetrySafeError)) throw error;
      warnings.push({
        code: key === undefined ? 'example-key' : 'provider-key-format',
        message:
          key === undefined
            ? `The example input gives no key: ${error.message}`
            : `The provider key does not fit the provider: ${error.message}`,
      });
    }
  }
  let payloadFingerprint: string | undefined;
  if (spec.operation.payloadExample !== undefined) {
    try {
      payloadFingerprint = fingerprint(spec.operation.payloadExample);
    } catch (error) {
      warnings.push({
        code: 'example-payload',
        message: `The example payload cannot be fingerprinted: ${messageOf(error)}`,
      });
    }
  }
  warnings.push(...perAttemptWarnings(spec));
  if (spec.trigger.hosts === 'many' && spec.store.kind === 'sqlite') {
    warnings.push({
      code: 'store-one-machine',
      message:
        'The automation runs on many machines but the store is SQLite, which serializes writers on one ' +
        "machine only: runs on different machines would not see each other's reservations. Use PostgreSQL or Redis.",
    });
  }
  return {
    spec,
    provider,
    policy,
    declared,
    id,
    example: { key, providerKey: nativeKey, fingerprint: payloadFingerprint },
    warnings,
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
