/**
 * The state of a small world: workers, the store's records, the provider's memory and ledger, the
 * clock, what is left of the fault budgets, and a few ghost variables the invariants read (never the
 * rules). Plain immutable data, so a state has one canonical encoding.
 */
import type { IdempotencyRecord } from '../src/machine/record.ts';
import type { FaultKind, ModelConfig } from './config.ts';
import type { Claim } from './rules.ts';

/** What a worker knows of the claim it holds. */
export interface HeldLease {
  readonly attempt: number;
  readonly generation: number;
  readonly token: string;
  /** Store time the attempt was claimed (its deadline counts from here). */
  readonly claimedAt: number;
  /** Where the worker believes its lease ends (last renewal + lease). */
  readonly until: number;
  /** A renewal was refused: the lease keeper gave up and aborted the call's signal. */
  readonly lost: boolean;
}

/** How the call ended, as the worker saw it. */
export type CallAnswer = 'ok' | '5xx' | 'timeout' | 'refused' | 'aborted';

export type Phase =
  /** Wants its delivery done. `blocked`: what it last saw (record and time) when it stopped; it tries again once that changes. */
  | { readonly k: 'idle'; readonly blocked: string | null }
  | {
      readonly k: 'holding';
      readonly lease: HeldLease;
      readonly at: 'before-send' | 'hung' | 'answered';
      readonly answer: CallAnswer | null;
      readonly paused: boolean;
    }
  | {
      readonly k: 'reconciling';
      /** The record as read; every reconcile write is conditioned on its attempt. */
      readonly seen: IdempotencyRecord;
      readonly readAt: number;
      readonly at: 'mark' | 'lookup' | 'claim' | 'resolve';
      /** How the claim after the lookup (or for the re-send) is made. */
      readonly claim: Claim;
    }
  | { readonly k: 'done'; readonly how: 'succeeded' | 'mismatch' };

export interface Worker {
  readonly op: number;
  /** 0: the operation's payload; 1: a different payload for the same key. */
  readonly payload: 0 | 1;
  readonly phase: Phase;
}

/** One effect on the provider's ledger. */
export interface Effect {
  readonly payload: 0 | 1;
  readonly generation: number;
  readonly at: number;
}

/** What the provider keeps under one provider key (one generation). */
export interface KeyMemory {
  readonly generation: number;
  readonly answer: 'ok' | '5xx';
  /** First request under the key; retention counts from here. */
  readonly since: number;
}

export interface OperationState {
  readonly record: IdempotencyRecord | undefined;
  readonly effects: readonly Effect[];
  readonly keys: readonly KeyMemory[];
  /**
   * Override review (ghost and store): requested by alice; approved by bob, or by alice herself (which
   * the store must refuse); then used by the reservation that starts the new generation.
   */
  readonly override: 'none' | 'requested' | 'approved' | 'self-approved' | 'used' | 'self-used';
  /** Ghost: when the current in-flight attempt was claimed (invariant 13). */
  readonly inFlightSince: number | null;
}

export interface WorldState {
  readonly now: number;
  readonly workers: readonly Worker[];
  readonly ops: readonly OperationState[];
  readonly faultsLeft: number;
  readonly crashesLeft: number;
  readonly pausesLeft: number;
  /** The operator resolves at most one unknown key per run. */
  readonly resolvesLeft: number;
}

export type { FaultKind };

export function initialState(config: ModelConfig): WorldState {
  const workers: Worker[] = [];
  for (let i = 0; i < config.workers; i++) {
    const mismatch = config.mismatchWorker && i === config.workers - 1;
    workers.push({
      op: i % config.operations,
      payload: mismatch ? 1 : 0,
      phase: { k: 'idle', blocked: null },
    });
  }
  const ops: OperationState[] = [];
  for (let i = 0; i < config.operations; i++) {
    ops.push({ record: undefined, effects: [], keys: [], override: 'none', inFlightSince: null });
  }
  return {
    now: 0,
    workers,
    ops,
    faultsLeft: config.faultBudget,
    crashesLeft: config.crashBudget,
    pausesLeft: config.pauseBudget,
    resolvesLeft: config.operator ? 1 : 0,
  };
}

/**
 * The canonical encoding: workers of the same operation and payload are interchangeable (tokens name
 * attempts, not workers), so they are sorted, which folds symmetric states into one.
 */
export function encode(state: WorldState): string {
  const workers = state.workers.map((worker) => JSON.stringify(worker)).sort();
  return JSON.stringify([
    state.now,
    workers,
    state.ops,
    state.faultsLeft,
    state.crashesLeft,
    state.pausesLeft,
    state.resolvesLeft,
  ]);
}
