/**
 * The client's public shapes: an operation's declaration, the callable it becomes, the client's options
 * and methods. The behaviour behind them is in client.ts.
 */
import type { Clock } from '../clock.ts';
import type { AuditEntry, IdempotencyRecord, OverrideRequest } from '../machine/record.ts';
import type { GcOptions, GcSummary, ListFilter, Store } from '../stores/types.ts';
import type { ReconcileEntry, ReconcileOptions } from './batch-reconcile.ts';
import type { CallContext, Classification, LookupAnswer, LookupContext, OperationPolicy } from './policy.ts';
import type { RunResult, TombstoneSummary } from './prepared.ts';
import type { Resolution, ResolutionRequest, ResolvePolicy } from './resolution.ts';

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
