import { checkedClock } from '../clock.ts';
import {
  ConfigurationError,
  InvalidKeyInputError,
  LeaseLostError,
  PayloadTooLargeError,
  RetrySafeError,
} from '../errors/errors.ts';
import { assertName, assertVersion, canonicalKeyFields, keyOfCanonical } from '../keys/derive.ts';
import { canonicalize } from '../keys/canonicalize.ts';
import { fingerprintOfCanonical } from '../keys/fingerprint.ts';
import { providerKey } from '../keys/provider-key.ts';
import { reconcileBatch, type Declared } from './batch-reconcile.ts';
import { guard } from './guard.ts';
import { defaultClassify } from './outcome.ts';
import { approveOverride, askFor, requestOverride } from './overrides.ts';
import { resolvePolicy, type CallContext, type LookupContext, type OperationPolicy } from './policy.ts';
import type { Behaviour, PreparedCall, RunResult } from './prepared.ts';
import {
  approveResolution,
  assertResolvePolicy,
  requestResolution,
  resolutionRequests,
  resolveNow,
} from './resolution.ts';
import type {
  OnceDefinition,
  Operation,
  OperationDefinition,
  RetrySafe,
  RetrySafeOptions,
} from './client-api.ts';
import { run } from './run.ts';
import { traced } from './traced-call.ts';

export type { Resolution, ResolutionRequest, ResolvePolicy } from './resolution.ts';

export type {
  OnceDefinition,
  Operation,
  OperationDefinition,
  RetrySafe,
  RetrySafeOptions,
} from './client-api.ts';

/**
 * Creates a retrysafe client over a store.
 *
 * @example
 * ```ts
 * const rs = retrysafe({ store: sqliteStore({ path: 'retrysafe.db' }), namespace: 'billing' });
 * const charge = rs.operation({
 *   name: 'charge-order', version: 1,
 *   key: (order: Order) => ({ orderId: order.id }),
 *   payload: (order) => ({ amount: order.amount, currency: order.currency }),
 *   call: (order, { providerKey, signal }) => payments.charge(order, { idempotencyKey: providerKey, signal }),
 *   lookup: async (_payload, { fields }) => {   // the key fields, from the call or from the record
 *     const found = await payments.findByOrder(fields.orderId);
 *     return found ? { status: 'found', value: found } : { status: 'absent' };
 *   },
 * });
 * const { value, replayed } = await charge(order);
 * ```
 */
export function retrysafe(options: RetrySafeOptions): RetrySafe {
  const { store, namespace } = options;
  asConfiguration(() => {
    assertName('namespace', namespace);
  });
  const defaults = resolvePolicy('retrysafe defaults', options.defaults);
  const personResolves = assertResolvePolicy(options.resolvePolicy);
  const clock = checkedClock(options.clock, 'retrysafe');
  const policyOf = (operation: string): OperationPolicy => policies.get(operation) ?? defaults;
  const policies = new Map<string, OperationPolicy>();
  const declared = new Map<string, Declared>();
  const inProcess = new Map<string, { fingerprint: string; promise: Promise<RunResult<unknown>> }>();

  let ready: Promise<void> | undefined;
  const whenReady = async (): Promise<void> => {
    if (options.migrate === false) return;
    ready ??= guard(() => store.migrate(), 'prepare its schema').catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    await ready;
  };

  async function execute<I, T>(call: PreparedCall<I, T>): Promise<RunResult<T>> {
    // Callers in this process with the same key and payload share one call instead of queueing on the store.
    const shared = inProcess.get(call.key);
    if (shared?.fingerprint === call.fingerprint) {
      try {
        return { ...((await shared.promise) as RunResult<T>), replayed: true };
      } catch (error) {
        // The holder lost its claim to another attempt; this caller held nothing, so it asks the store
        // for that attempt's outcome instead of reporting someone else's lost lease, sharing that question
        // with the other callers that were waiting on the same holder.
        if (!(error instanceof LeaseLostError)) throw error;
        return execute(call);
      }
    }
    const promise = (async () => {
      await whenReady();
      return run(store, call);
    })();
    inProcess.set(call.key, { fingerprint: call.fingerprint, promise });
    try {
      return await promise;
    } finally {
      if (inProcess.get(call.key)?.promise === promise) inProcess.delete(call.key);
    }
  }

  function operation<I, T, P = I, K = unknown>(definition: OperationDefinition<I, T, P, K>): Operation<I, T> {
    const id = declare(definition);
    const policy = resolvePolicy(`operation ${id}`, options.defaults, definition);
    policies.set(id, policy);
    const behaviour: Behaviour<I, T> = {
      call: definition.call,
      classify: definition.classify ?? defaultClassify,
      // Payloads are JSON data: what a lookup or re-send reads back from the record has the same shape.
      lookup: definition.lookup as Behaviour<I, T>['lookup'],
      resend: definition.resend as Behaviour<I, T>['resend'],
      providerKey: definition.providerKey ?? providerKey,
      providerRef: definition.providerRef,
      replayed: definition.replayed,
      onTombstone: definition.onTombstone,
    };
    declared.set(id, { behaviour: behaviour as unknown as Behaviour<unknown, unknown>, policy });
    const prepare = (input: I): PreparedCall<I, T> => {
      const scope = userCode('scope', () => definition.scope?.(input));
      const fields = userCode('key', () => definition.key(input));
      const payload: unknown =
        definition.payload === undefined ? input : userCode('payload', () => definition.payload?.(input));
      const canonical = canonicalize(payload);
      const bytes = Buffer.byteLength(canonical, 'utf8');
      if (bytes > policy.maxPayloadBytes) {
        throw new PayloadTooLargeError('payload', bytes, policy.maxPayloadBytes, 'maxPayloadBytes');
      }
      const keyFields = canonicalKeyFields(fields);
      return {
        operation: id,
        key: keyOfCanonical(
          { namespace, operation: definition.name, version: definition.version, scope },
          keyFields,
        ),
        keyFields,
        fingerprint: fingerprintOfCanonical(canonical),
        input,
        payload,
        request: definition.storeRequest === false ? null : canonical,
        policy,
        behaviour,
      };
    };
    // Async so that bad input rejects like every other failure instead of throwing synchronously.
    const wrapped = async (input: I): Promise<RunResult<T>> => {
      const call = prepare(input);
      return traced(call, () => execute(call));
    };
    return Object.assign(wrapped, {
      id,
      keyOf: (input: I) => prepare(input).key,
      requestOverride: async (input: I, request: { by: string; reason: string }) => {
        const call = prepare(input);
        const ask = askFor(call.key, call.payload, request.by, request.reason);
        // An operation that stores no request keeps no proposed payload either.
        const payload = definition.storeRequest === false ? null : ask.payload;
        await whenReady();
        return requestOverride(store, { ...ask, payload });
      },
    });
  }

  function once<T>(
    definition: OnceDefinition<T>,
    call: (context: CallContext) => Promise<T>,
  ): Promise<RunResult<T>> {
    const { key, scope, payload, lookup, ...rest } = definition;
    const op = operation<undefined, T, unknown>({
      ...rest,
      key: () => key,
      ...(scope === undefined ? {} : { scope: () => scope }),
      payload: () => (payload === undefined ? null : payload),
      call: (_input, context) => call(context),
      ...(lookup === undefined
        ? {}
        : { lookup: (_payload: unknown, context: LookupContext) => lookup(context) }),
    });
    return op(undefined);
  }

  return {
    store,
    defaults,
    operation,
    once,
    resolve: async (key, resolution) => {
      await whenReady();
      return resolveNow(store, policyOf, personResolves, key, resolution);
    },
    requestResolution: async (key, resolution) => {
      await whenReady();
      return requestResolution(store, policyOf, key, resolution);
    },
    approveResolution: async (key, id, approval) => {
      await whenReady();
      return approveResolution(store, policyOf, key, id, approval.by);
    },
    resolutionRequests: async (key) => {
      await whenReady();
      return resolutionRequests(store, key);
    },
    requestOverride: async (key, request) => {
      const ask = askFor(key, request.payload, request.by, request.reason);
      await whenReady();
      return requestOverride(store, ask);
    },
    approveOverride: async (id, approval) => {
      await whenReady();
      return approveOverride(store, id, approval.by);
    },
    overrides: async (key) => {
      await whenReady();
      return guard(() => store.listOverrides(key), 'list overrides');
    },
    providerKeyOf: (record) => {
      const derive = declared.get(record.operation)?.behaviour.providerKey;
      return derive === undefined
        ? { providerKey: providerKey(record.key, record.generation), derivedBy: 'default' }
        : { providerKey: derive(record.key, record.generation), derivedBy: 'operation' };
    },
    get: async (key) => {
      await whenReady();
      return guard(() => store.get(key), 'read the record');
    },
    audit: async (key) => {
      await whenReady();
      return guard(() => store.audit(key), 'read the audit log');
    },
    list: async (filter = {}) => {
      await whenReady();
      return guard(() => store.list(filter), 'list records');
    },
    gc: async (gcOptions) => {
      await whenReady();
      return guard(() => store.gc(gcOptions), 'collect expired records');
    },
    reconcile: async (reconcileOptions = {}) => {
      await whenReady();
      return reconcileBatch(store, declared, reconcileOptions, clock);
    },
  };
}

function declare<I, T, P, K>(definition: OperationDefinition<I, T, P, K>): string {
  asConfiguration(() => {
    assertName('operation name', definition.name);
    assertVersion(definition.version);
  });
  for (const name of ['key', 'call'] as const) {
    if (typeof definition[name] !== 'function') {
      throw new ConfigurationError(`operation ${definition.name}: ${name} must be a function`);
    }
  }
  return `${definition.name}@${definition.version}`;
}

function asConfiguration(check: () => void): void {
  try {
    check();
  } catch (error) {
    if (error instanceof InvalidKeyInputError) throw new ConfigurationError(error.message);
    throw error;
  }
}

/** Runs a user-supplied key/scope/payload function; its failure is bad input, raised before any I/O. */
function userCode<R>(what: string, fn: () => R): R {
  try {
    return fn();
  } catch (error) {
    if (error instanceof RetrySafeError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new InvalidKeyInputError(`${what}() threw: ${message}`);
  }
}
