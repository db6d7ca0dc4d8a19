import {
  defaultClassify,
  retrysafe,
  RetrySafeError,
  type Classification,
  type LookupAnswer,
  type LookupContext,
} from '../../src/index.ts';
import {
  classify,
  interpretAnswer,
  isDefinitive4xx,
  ProviderAnswerError,
  providerStoresErrors,
} from '../../src/providers/index.ts';
import type { Store } from '../../src/stores/types.ts';
import { charge, findCharges, ProviderError, searchCharges } from '../provider/call.ts';
import { strictMode, type StrictMode } from '../provider/modes.ts';
import type { Effect } from '../provider/protocol.ts';
import type { CallHooks, Impl, ImplConfig, StoreSpec, TryOutcome } from './types.ts';

interface ChargeInput {
  readonly op: string;
  readonly hooks: CallHooks;
}

/** Opens the retrysafe store a spec names. */
export async function openRetrysafeStore(spec: StoreSpec): Promise<Store> {
  switch (spec.kind) {
    case 'sqlite': {
      const { sqliteStore } = await import('../../src/stores/sqlite/index.ts');
      return sqliteStore({ path: spec.path });
    }
    case 'postgres': {
      const { postgresStore } = await import('../../src/stores/postgres/index.ts');
      return postgresStore({
        connectionString: spec.url,
        schema: spec.schema,
        max: 4,
        allowAsynchronousStandbys: spec.allowAsynchronousStandbys ?? false,
      });
    }
    case 'redis': {
      const { redisStore } = await import('../../src/stores/redis/index.ts');
      // The private server runs with appendonly yes and appendfsync always: no volatility waiver needed.
      return redisStore({
        url: spec.url,
        keyPrefix: spec.prefix,
        replicaAcks: spec.replicaAcks ?? 0,
        ...(spec.replicaAckTimeoutMs === undefined ? {} : { replicaAckTimeoutMs: spec.replicaAckTimeoutMs }),
        allowUnacknowledgedReplicas: spec.allowUnacknowledgedReplicas ?? false,
      });
    }
  }
}

/** Provider answers that guarantee no effect are `not_performed`; other 4xx are refusals; the rest unknown. */
export function classifyCharge(error: unknown): Classification {
  if (error instanceof ProviderError) {
    if (error.noEffect) return 'not_performed';
    if (error.status >= 400 && error.status < 500) return 'failed';
    return 'unknown';
  }
  return defaultClassify(error);
}

/**
 * A strict mode's classify, the way a user of that API writes it: the answer is read with the mode's
 * provider profile (`classify(profile)`: a mismatch or definitive refusal is failed, a no-effect
 * guarantee not performed, in progress, burned keys and the rest unknown); a provider without a key (no
 * profile) refuses definitively with a 4xx other than 408/409/425/429, anything else is unknown.
 */
export function strictClassify(mode: StrictMode, provider: string): (error: unknown) => Classification {
  const { profile } = mode;
  if (profile === null) {
    return (error) =>
      error instanceof ProviderError
        ? isDefinitive4xx(error.answer)
          ? 'failed'
          : 'unknown'
        : defaultClassify(error);
  }
  const byProfile = classify(profile);
  const request = { method: 'POST', url: `${provider}/charges`, headers: {}, body: null };
  return (error) => {
    if (!(error instanceof ProviderError)) return byProfile(error);
    const { kind } = interpretAnswer(profile, error.answer, request);
    // A 2xx never reaches classify; `existing` is not a signal any of these profiles has.
    if (kind === 'success' || kind === 'existing') return 'unknown';
    return byProfile(new ProviderAnswerError(profile.name, kind, error.answer));
  };
}

/**
 * The attempt deadline in the strict modes, in the harness's compressed time: past the lease (1 s) and
 * the provider's slowest answer (a "timeout after the effect" comes after 1.5 s), so only a request that
 * is never answered meets it.
 */
export const STRICT_ATTEMPT_TIMEOUT_MS = 2_000;
/** A lookup's deadline in the strict modes (the library's, since the lookup has no timeout of its own). */
export const STRICT_LOOKUP_TIMEOUT_MS = 2_000;

/** A strict mode's lookup: the list or search by marker (the operation's id), trusted past its settle delay. */
async function lookupByMarker(
  provider: string,
  op: string,
  signal: AbortSignal,
): Promise<LookupAnswer<Effect>> {
  const [effect] = await searchCharges(provider, op, signal);
  return effect === undefined
    ? { status: 'absent' }
    : { status: 'found', value: effect, providerRef: effect.effectId };
}

/**
 * Kills the process while the holder's settle is on its way to the store ("during the record"): the
 * write may or may not have committed.
 */
function killableStore(store: Store, armed: Map<string, () => void>): Store {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'settle') {
        return (...args: Parameters<Store['settle']>) => {
          const pending = target.settle(...args);
          const die = armed.get(args[0].key);
          if (die !== undefined) setImmediate(die);
          return pending;
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export async function openRetrysafe(config: ImplConfig): Promise<Impl> {
  const armed = new Map<string, () => void>();
  const store = killableStore(await openRetrysafeStore(config.store), armed);
  await store.migrate();
  const rs = retrysafe({ store, namespace: 'chaos', migrate: false });
  const mode = strictMode(config.providerMode);
  const strict =
    mode === undefined
      ? undefined
      : {
          // The provider's documented key retention, lookup lag and whether it stores failed answers, as
          // a user declares them; a lookup by marker in every process (not only the reconciler); no
          // client timeout in `call` or the lookup: the library's attempt and lookup deadlines end them.
          resendWithinMs: mode.resendWithinMs,
          lookupSettleMs: mode.lookupSettleMs,
          providerStoresErrors: mode.profile === null ? false : providerStoresErrors(mode.profile),
          attemptTimeoutMs: STRICT_ATTEMPT_TIMEOUT_MS,
          lookupTimeoutMs: STRICT_LOOKUP_TIMEOUT_MS,
          lookup: (payload: { op: string }, context: LookupContext) =>
            lookupByMarker(config.provider, payload.op, context.signal),
        };
  const chargeOnce = rs.operation<ChargeInput, Effect, { op: string; amount: number; marker?: string }>({
    name: 'charge',
    version: 1,
    leaseMs: config.leaseMs,
    waitMs: config.waitMs,
    key: (input) => ({ op: input.op }),
    // The payload is what is sent: in a strict mode it carries the marker the lookup finds.
    payload: (input) =>
      mode === undefined ? { op: input.op, amount: 1 } : { op: input.op, amount: 1, marker: input.op },
    call: (input, context) =>
      charge({
        provider: config.provider,
        op: input.op,
        caller: `${config.caller}/attempt-${context.attempt}`,
        timeoutMs: config.callTimeoutMs,
        hooks: input.hooks,
        ...(mode === undefined
          ? { idempotencyKey: context.providerKey }
          : {
              marker: input.op,
              // The provider key in the mode's header; a provider without a key gets none.
              ...(mode.keyHeader === null
                ? {}
                : { idempotencyKey: context.providerKey, keyHeader: mode.keyHeader }),
            }),
        key: context.key,
        signal: context.signal,
      }),
    classify: mode === undefined ? classifyCharge : strictClassify(mode, config.provider),
    providerRef: (effect) => effect.effectId,
    ...(strict !== undefined
      ? strict
      : config.lookup
        ? {
            lookup: async (input) => {
              const [effect] = await findCharges(config.provider, input.op);
              return effect === undefined
                ? { status: 'absent' }
                : { status: 'found', value: effect, providerRef: effect.effectId };
            },
          }
        : {}),
  });

  return {
    async run(op, hooks): Promise<TryOutcome> {
      try {
        const result = await chargeOnce({ op, hooks });
        return { status: 'ok', replayed: result.replayed };
      } catch (error) {
        return outcomeOf(error);
      }
    },
    armKillDuringRecord(key, die) {
      armed.set(key, die);
    },
    close: () => store.close(),
  };
}

function outcomeOf(error: unknown): TryOutcome {
  const detail = error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 300) : String(error);
  if (error instanceof RetrySafeError) {
    switch (error.code) {
      case 'RS_OUTCOME_UNKNOWN':
      case 'RS_OPERATION_FAILED':
        return { status: 'unknown', detail };
      case 'RS_LEASE_LOST':
        return { status: 'stale', detail };
      default:
        return { status: 'retry', detail };
    }
  }
  // Released attempts rethrow the provider's "nothing was done" answer, and connection refusals: try again.
  return { status: 'retry', detail };
}
