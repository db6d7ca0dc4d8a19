import { defaultClassify, retrysafe, RetrySafeError, type Classification } from '../../src/index.ts';
import type { Store } from '../../src/stores/types.ts';
import { charge, findCharges, ProviderError } from '../provider/call.ts';
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
      return postgresStore({ connectionString: spec.url, schema: spec.schema, max: 4 });
    }
    case 'redis': {
      const { redisStore } = await import('../../src/stores/redis/index.ts');
      // The private server runs with appendonly yes and appendfsync always: no volatility waiver needed.
      return redisStore({ url: spec.url, keyPrefix: spec.prefix });
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
  const chargeOnce = rs.operation<ChargeInput, Effect, { op: string; amount: number }>({
    name: 'charge',
    version: 1,
    leaseMs: config.leaseMs,
    waitMs: config.waitMs,
    key: (input) => ({ op: input.op }),
    payload: (input) => ({ op: input.op, amount: 1 }),
    call: (input, context) =>
      charge({
        provider: config.provider,
        op: input.op,
        caller: `${config.caller}/attempt-${context.attempt}`,
        timeoutMs: config.callTimeoutMs,
        hooks: input.hooks,
        idempotencyKey: context.providerKey,
        key: context.key,
        signal: context.signal,
      }),
    classify: classifyCharge,
    providerRef: (effect) => effect.effectId,
    ...(config.lookup
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
