import { checkedClock, type Clock } from '../clock.ts';
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
import type { AuditEntry, IdempotencyRecord, OverrideRequest } from '../machine/record.ts';
import type { GcOptions, GcSummary, ListFilter, Store } from '../stores/types.ts';
import {
  reconcileBatch,
  type Declared,
  type ReconcileEntry,
  type ReconcileOptions,
} from './batch-reconcile.ts';
import { guard } from './guard.ts';
import { defaultClassify } from './outcome.ts';
import { approveOverride, askFor, requestOverride } from './overrides.ts';
import {
  resolvePolicy,
  type CallContext,
  type Classification,
  type LookupAnswer,
  type LookupContext,
  type OperationPolicy,
} from './policy.ts';
import type { Behaviour, PreparedCall, RunResult, TombstoneSummary } from './prepared.ts';
import {
  approveResolution,
  assertResolvePolicy,
  requestResolution,
  resolutionRequests,
  resolveNow,
  type Resolution,
  type ResolutionRequest,
  type ResolvePolicy,
} from './resolution.ts';
import { run } from './run.ts';
import { traced } from './traced-call.ts';

export type { Resolution, ResolutionRequest, ResolvePolicy } from './resolution.ts';

/**
 * Declaration of an operation: a named, versioned kind of external write. `I` is what the caller
 * passes, `T` what the write returns, `P` the payload actually sent (the input itself by default), `K`
 * the key fields. `T` is inferred from `call` alone, so a lookup cannot widen what a call resolves to.
 */
export interface OperationDefinition<I, T, P = I, K = unknown> extends Partial<OperationPolicy> {
  /** e.g. `charge-order`: 1-64 of a-z, 0-9, `.`, `_`, `-`. */
  readonly name: string;
  /** Bump when the meaning of the key fields or the payload changes. */
  readonly version: number;
  /** The key fields: the stable identity of the logical operation (an order id), never a time or a random value. */
  readonly key: (input: I) => K;
  /** Optional tenant or account, shown in the key in clear. */
  readonly scope?: (input: I) => string | undefined;
  /** What is actually sent, fingerprinted to refuse a different payload under the same key. @default the input */
  readonly payload?: (input: I) => P;
  /**
   * Keep the canonical payload on the record, so that reconciliation can look up or re-send without the
   * input (batch `rs.reconcile`). Turn off for payloads that must not be stored. @default true
   */
  readonly storeRequest?: boolean;
  /** The external write. Receives the keys, the attempt and a signal aborted on lease loss. */
  readonly call: (input: I, context: CallContext) => Promise<T>;
  /** Classifies an error of `call`. @default connection refused before sending: not_performed; else unknown */
  readonly classify?: (error: unknown) => Classification;
  /**
   * Asks the provider whether an attempt with an unknown outcome happened (reconciliation). It gets the
   * payload that was sent and, in `context`, the key fields (`context.fields`, what `key` returned) and
   * scope, from the live call or from the stored record alike: search the provider by those, the
   * write's identity, rather than by whatever the payload happens to carry. `context.input` is there
   * only in a live call.
   *
   * @example
   * ```ts
   * lookup: async (_payload, { fields }) => {
   *   const found = await payments.findByOrder(fields.orderId);
   *   return found ? { status: 'found', value: found } : { status: 'absent' };
   * },
   * ```
   */
  readonly lookup?: (payload: P, context: LookupContext<I, K>) => Promise<LookupAnswer<NoInfer<T>>>;
  /**
   * Sends a stored payload again under the same provider key: lets batch reconciliation re-send while
   * the provider still remembers the key (`resendWithinMs`). In-process calls re-send through `call`.
   */
  readonly resend?: (payload: P, context: CallContext) => Promise<NoInfer<T>>;
  /**
   * The provider's idempotency key for our key and override generation: `context.providerKey` in calls,
   * lookups and results. Deterministic, never per attempt. @default providerKey (UUIDv5)
   */
  readonly providerKey?: (key: string, generation: number) => string;
  /** The provider's id of the write (charge id), kept in the tombstone. */
  readonly providerRef?: (value: NoInfer<T>) => string | undefined;
  /**
   * The provider's replay signal: true when a result replays an earlier request under the same key
   * instead of performing it (`Idempotent-Replayed: true`). The result's `replayed` follows it.
   */
  readonly replayed?: (value: NoInfer<T>) => boolean;
  /** Builds a value from a tombstone (the full result expired). Without it a tombstone hit throws. */
  readonly onTombstone?: (summary: TombstoneSummary) => NoInfer<T>;
}

/** A one-off call's declaration: the key fields and payload are values rather than functions of an input. */
export type OnceDefinition<T> = Omit<
  OperationDefinition<undefined, T, unknown>,
  'key' | 'scope' | 'payload' | 'call' | 'lookup' | 'resend'
> & {
  readonly key: unknown;
  readonly scope?: string;
  readonly payload?: unknown;
  readonly lookup?: (context: LookupContext) => Promise<LookupAnswer<NoInfer<T>>>;
};

/** A declared operation: call it like the function it wraps. */
export interface Operation<I, T> {
  (input: I): Promise<RunResult<T>>;
  /** `name@version`. */
  readonly id: string;
  /** The idempotency key `input` maps to (validates the input; touches no store). */
  keyOf(input: I): string;
  /** Asks for a reviewed override so that `input`'s payload may replace the stored one under its key. */
  requestOverride(input: I, request: { by: string; reason: string }): Promise<OverrideRequest>;
}

export interface RetrySafeOptions {
  readonly store: Store;
  /** Application or team namespace, part of every key. */
  readonly namespace: string;
  /** Defaults for every operation's policy. */
  readonly defaults?: Partial<OperationPolicy>;
  /** Run `store.migrate()` before first use. @default true */
  readonly migrate?: boolean;
  /**
   * What a person's `resolve` of an unknown outcome needs: evidence (a provider reference) or a second
   * person (`requestResolution` then `approveResolution`). See docs/security.md.
   * @default 'evidence-or-second-person'
   */
  readonly resolvePolicy?: ResolvePolicy;
  /**
   * The clock batch reconciliation (`rs.reconcile`) judges stored times by: whether an in-flight
   * record's lease lapsed, a re-send is within `resendWithinMs`, a lookup's `absent` is past
   * `lookupSettleMs`. Calls use the store's clock for the same questions, so give a test's SQLite store
   * the same one (`sqliteStore({ clock })`). Timers (waits, the attempt deadline, lease renewals,
   * backoff) run on real time whatever it says. See docs/testing.md.
   * @default the process clock (`Date.now()`)
   */
  readonly clock?: Clock;
}

export interface RetrySafe {
  readonly store: Store;
  /** The policy every operation starts from: the built-in defaults with `options.defaults` applied. */
  readonly defaults: OperationPolicy;
  /** Declares an operation once and returns the function to call it with. */
  operation<I, T, P = I, K = unknown>(definition: OperationDefinition<I, T, P, K>): Operation<I, T>;
  /** A one-off call: key fields and payload given directly. */
  once<T>(definition: OnceDefinition<T>, call: (context: CallContext) => Promise<T>): Promise<RunResult<T>>;
  /**
   * Settles an `unknown` (or lapsed) record by hand: who, why and the evidence go to the audit log.
   * Under the default `resolvePolicy` it needs evidence (`providerRef`); without it, it is refused
   * (`ResolveRefusedError`) and goes through `requestResolution` and a second person instead.
   * `newGeneration: true` (with `released` only) makes the next attempt send a new provider key: for a
   * key the provider only answers with a stored error, when no lookup can prove the write absent.
   *
   * @example
   * ```ts
   * await rs.resolve(key, { state: 'succeeded', providerRef: 'ch_3Pq', result: charge, by: 'alice', reason: 'in the dashboard' });
   * const request = await rs.requestResolution(key, { state: 'released', by: 'alice', reason: 'no charge in the dashboard' });
   * await rs.approveResolution(key, request.id, { by: 'bob' });
   * // The provider replays a stored 500 under the old provider key: the next attempt gets a new one.
   * const rekey = await rs.requestResolution(key, { state: 'released', newGeneration: true, by: 'alice', reason: 'no charge; key replays its 500' });
   * await rs.approveResolution(key, rekey.id, { by: 'bob' });
   * ```
   */
  resolve(key: string, resolution: Resolution): Promise<IdempotencyRecord>;
  /** Asks for a resolution that a second, different person approves (kept in the audit log). */
  requestResolution(key: string, resolution: Resolution): Promise<ResolutionRequest>;
  /** Approves and applies a resolution request; refused for its requester, or once the record moved on. */
  approveResolution(key: string, id: string, approval: { by: string }): Promise<IdempotencyRecord>;
  /** The resolution requests of a key, oldest first. */
  resolutionRequests(key: string): Promise<ResolutionRequest[]>;
  /**
   * Asks for a reviewed override that lets `payload` (as the operation sends it) replace the stored
   * payload under `key`, once. The canonical payload is kept so the approver sees what will be sent.
   */
  requestOverride(
    key: string,
    request: { payload: unknown; by: string; reason: string },
  ): Promise<OverrideRequest>;
  /**
   * Approves an override request; refused when the approver is the requester (identities normalized),
   * when the record moved on, or when the stored payload does not match the fingerprint it allows.
   */
  approveOverride(id: string, approval: { by: string }): Promise<OverrideRequest>;
  overrides(key?: string): Promise<OverrideRequest[]>;
  get(key: string): Promise<IdempotencyRecord | undefined>;
  /**
   * The provider key a record's current generation is sent under: derived by the record's operation when
   * it is declared on this client (its `providerKey` or profile), else by the default (UUIDv5 of key and
   * generation), which `derivedBy` says. What an operator searches the provider by.
   */
  providerKeyOf(record: IdempotencyRecord): { providerKey: string; derivedBy: 'operation' | 'default' };
  audit(key: string): Promise<AuditEntry[]>;
  list(filter?: ListFilter): Promise<IdempotencyRecord[]>;
  gc(options?: GcOptions): Promise<GcSummary>;
  /**
   * Batch reconciliation of unknown (and lapsed) records of the operations declared on this client:
   * a read-only plan by default, `apply: true` to act. Works from the stored requests, without inputs.
   *
   * @example
   * ```ts
   * const plan = await rs.reconcile({ operation: 'charge-order@1' });
   * const done = await rs.reconcile({ operation: 'charge-order@1', apply: true });
   * ```
   */
  reconcile(options?: ReconcileOptions): Promise<ReconcileEntry[]>;
}

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
