/**
 * retrysafe: external write calls that happen once in effect, whatever retries, replays, crashes and
 * concurrent runs do. The root export is store-independent; stores live at `retrysafe/<store>`.
 */
export {
  retrysafe,
  type Operation,
  type OperationDefinition,
  type Resolution,
  type ResolutionRequest,
  type ResolvePolicy,
  type RetrySafe,
  type RetrySafeOptions,
} from './executor/client.ts';
export {
  DEFAULT_POLICY,
  type CallContext,
  type Classification,
  type LookupAnswer,
  type LookupContext,
  type OperationPolicy,
} from './executor/policy.ts';
export { systemClock, type Clock } from './clock.ts';
export { defaultClassify } from './executor/outcome.ts';
export { normalizeActor } from './executor/actor.ts';
export { payloadMatches } from './executor/overrides.ts';
export { RESOLVE_POLICIES } from './executor/resolution.ts';
export type { RunResult, TombstoneSummary } from './executor/prepared.ts';
export type {
  ReconcileAction,
  ReconcileEntry,
  ReconcileOptions,
  ReconcileOutcome,
} from './executor/batch-reconcile.ts';
export { channels, subscribe, type ChannelName, type MessageOf } from './diagnostics.ts';
export type * from './diagnostic-messages.ts';
export * from './errors/errors.ts';
export { canonicalize, type JsonValue } from './keys/canonicalize.ts';
export { fingerprint, FINGERPRINT_PREFIX } from './keys/fingerprint.ts';
export { deriveKey, KEY_SCHEME, MAX_KEY_FIELDS_BYTES, type KeyInput } from './keys/derive.ts';
export { providerKey, uuidV5, PROVIDER_KEY_NAMESPACE } from './keys/provider-key.ts';
export { decide, reservedRecord, isPastTombstone, type Decision, type Incoming } from './machine/decide.ts';
export {
  afterTrustedAbsent,
  evidenceAfterAttempt,
  evidenceOnReserve,
  mayRekey,
  resendCannotHelp,
  type AfterAbsent,
  type AttemptAnswer,
} from './machine/provider-key-evidence.ts';
export {
  absentVerdict,
  planReconcile,
  type AbsentVerdict,
  type ReconcilePlan,
  type ReconcilePolicy,
} from './machine/reconcile-plan.ts';
export * from './machine/record.ts';
export { isLapsed, isLeaseLive, needsAttention } from './machine/lapse.ts';
export {
  approvalRefusal,
  overrideRefusal,
  type OverrideRefusal,
  type OverrideRefusalCode,
} from './machine/overrides.ts';
export { refused, refusalText } from './stores/refusals.ts';
export type * from './stores/types.ts';
export {
  allRecords,
  attentionPage,
  cursorAfter,
  recordPage,
  statsFromCounts,
  storeStats,
  type OldestRecord,
  type RecordPage,
  type StoreStats,
} from './operations/index.ts';
export {
  createStoreRegistry,
  storeRegistry,
  type OpenStoreContext,
  type StoreAddress,
  type StoreKind,
  type StoreRegistry,
} from './stores/registry.ts';
export { ReplicaAcknowledgementError } from './stores/replica-acknowledgement.ts';
