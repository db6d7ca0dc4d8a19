import type { ErrorCode } from './errors/errors.ts';
import type { RecordState, SettledState } from './machine/record.ts';

/** Fields every per-attempt message carries. */
interface AttemptFields {
  readonly key: string;
  /** `name@version`. */
  readonly operation: string;
  readonly attempt: number;
}

/**
 * A wrapped call began (after its input was keyed; input that cannot be keyed raises before any event).
 * Published with `channel.runStores`, so a tracer that binds an `AsyncLocalStorage` to this channel has
 * its span active for the whole call, the user's own call included.
 */
export interface CallStartMessage {
  /** Pairs this message with its `retrysafe:call-end`; unique per call. */
  readonly id: string;
  readonly key: string;
  readonly operation: string;
}

/**
 * How a wrapped call ended, for its caller: `performed` (this call's write succeeded), `replayed` (a stored
 * or shared result), `reconciled` (a provider lookup found the write), or `error` (it raised; `code` says
 * which retrysafe error, null for the call's own error, e.g. after a `not_performed` release).
 */
export type CallOutcomeKind = 'performed' | 'replayed' | 'reconciled' | 'error';

/** A wrapped call ended; exactly one per `retrysafe:call-start`, with the same `id`. */
export interface CallEndMessage {
  readonly id: string;
  readonly key: string;
  readonly operation: string;
  readonly outcome: CallOutcomeKind;
  /** Wall-clock time from the start message. */
  readonly durationMs: number;
  /** The attempt and generation the value came from; null when the call raised. */
  readonly attempt: number | null;
  readonly generation: number | null;
  /** The retrysafe error code when it raised one. */
  readonly code: ErrorCode | null;
  /** What the call raised (absent when it returned). */
  readonly error?: unknown;
}

export interface ReserveMessage extends AttemptFields {
  readonly generation: number;
}

export interface ReplayMessage extends AttemptFields {
  readonly state: RecordState;
  /** Set when only the compact tombstone remained. */
  readonly tombstone?: true;
}

export interface SettleMessage extends AttemptFields {
  readonly state: SettledState | typeof RecordState.Unknown;
  /** From the call's start to its recorded outcome, this attempt only. */
  readonly durationMs: number;
}

export interface SettleFailedMessage extends AttemptFields {
  readonly error: unknown;
}

export interface UnknownMessage extends AttemptFields {
  readonly reason: string | null;
}

export interface ReconcileMessage extends AttemptFields {
  readonly answer: 'found' | 'absent' | 'unknown';
}

export interface WaitMessage extends AttemptFields {
  /** When the holder's lease lapses, on the store's clock. */
  readonly leaseUntil: number;
}

export type LeaseLostMessage = AttemptFields;

export interface TimeoutMessage extends AttemptFields {
  readonly timeoutMs: number;
}

export interface LateResultMessage extends AttemptFields {
  /** Whether the store kept it as `late_write` evidence (it refuses the write itself). */
  readonly kept: boolean;
}

export interface RekeyMessage extends AttemptFields {
  readonly fromGeneration: number;
  readonly toGeneration: number;
}

export interface MismatchMessage {
  readonly key: string;
  readonly operation: string;
  /** The refused payload's fingerprint. */
  readonly fingerprint: string;
  /** The stored one. */
  readonly stored: string;
}

export interface RefusedMessage extends AttemptFields {
  readonly fingerprint: string;
}

/**
 * Every channel retrysafe publishes on, by its `node:diagnostics_channel` name, with the message it
 * carries. `subscribe` (from `retrysafe`) types a listener from it.
 */
export interface ChannelMessages {
  /** A wrapped call began (published with `runStores`). */
  'retrysafe:call-start': CallStartMessage;
  /** That call ended: its outcome and duration. */
  'retrysafe:call-end': CallEndMessage;
  /** This process now holds the key. */
  'retrysafe:reserve': ReserveMessage;
  /** A stored outcome was returned (or a tombstone hit). */
  'retrysafe:replay': ReplayMessage;
  /** The holder recorded its outcome. */
  'retrysafe:settle': SettleMessage;
  /** The holder could not record; the lease will lapse to unknown. */
  'retrysafe:settle-failed': SettleFailedMessage;
  /** An outcome could not be established. */
  'retrysafe:unknown': UnknownMessage;
  /** A lookup answered `found`, `absent` or `unknown`. */
  'retrysafe:reconcile': ReconcileMessage;
  /** Waiting for another attempt's result. */
  'retrysafe:wait': WaitMessage;
  /** This attempt's claim was taken over or could not be renewed. */
  'retrysafe:lease-lost': LeaseLostMessage;
  /** The attempt passed its deadline; its signal was aborted. */
  'retrysafe:timeout': TimeoutMessage;
  /** A call ended after its deadline; its result went to the audit log. */
  'retrysafe:late-result': LateResultMessage;
  /** A burned provider key was replaced by a new generation. */
  'retrysafe:rekey': RekeyMessage;
  /** A different payload was refused. */
  'retrysafe:mismatch': MismatchMessage;
  /**
   * A stored request no longer matches its fingerprint (it was changed in the store); reconciliation
   * refuses to re-send it or look it up.
   */
  'retrysafe:refused': RefusedMessage;
}

/** A `node:diagnostics_channel` name retrysafe publishes on (`retrysafe:settle`). */
export type DiagnosticsChannelName = keyof ChannelMessages;
