import type { Ledger } from './provider/protocol.ts';

/** One row of the report: what one implementation on one store did under one schedule. */
export interface Figures {
  readonly impl: string;
  readonly store: string;
  /** The provider's mode (`--provider`); runs saved before the modes existed were `lenient`. */
  readonly provider?: string;
  readonly seed: number;
  readonly schedule_digest: string;
  /** Logical operations the workload meant to perform, each exactly once. */
  readonly logical: number;
  /** Effects the provider applied in total. */
  readonly effects: number;
  /** Effects beyond the first, summed over operations. */
  readonly duplicates: number;
  readonly ops_with_duplicates: number;
  /** Intended operations with no effect after reconciliation. */
  readonly lost: number;
  /** Operations still not known done after reconciliation. */
  readonly unknown_unresolved: number;
  /**
   * Operations with a delivery that never ended (nothing else finished for a long while after it) or a
   * record still `in_flight` after reconciliation.
   */
  readonly stuck?: number;
  /** Operations the run left unknown (or with no successful delivery) before reconciliation. */
  readonly unknown_after_run: number;
  /** `late_write` audit entries: stale holders' settlements the store refused (retrysafe only). */
  readonly late_writes_refused: number | null;
  /** Deliveries told their claim was lost (each must have a refused late write). */
  readonly stale_holders: number;
  readonly deliveries: number;
  readonly redeliveries: number;
  readonly kills: number;
  readonly stops: number;
  readonly store_restarts: number;
  readonly provider_requests: number;
  readonly duration_s: number;
  /** Invariants that failed (empty when the row is clean). */
  readonly violations: readonly string[];
  readonly note?: string;
}

export interface LedgerCounts {
  readonly effects: number;
  readonly duplicates: number;
  readonly opsWithDuplicates: number;
  readonly lost: number;
  readonly requests: number;
  /** Operations with an effect count other than 1, with the count. */
  readonly wrong: readonly { op: string; effects: number }[];
}

/** Counts effects per intended operation from the provider's ledger. */
export function countLedger(ops: readonly string[], ledger: Ledger): LedgerCounts {
  let effects = 0;
  let duplicates = 0;
  let opsWithDuplicates = 0;
  let lost = 0;
  const wrong: { op: string; effects: number }[] = [];
  for (const op of ops) {
    const n = ledger.effects[op] ?? 0;
    effects += n;
    if (n > 1) {
      duplicates += n - 1;
      opsWithDuplicates++;
    }
    if (n === 0) lost++;
    if (n !== 1) wrong.push({ op, effects: n });
  }
  const requests = Object.values(ledger.requests).reduce((sum, n) => sum + n, 0);
  return { effects, duplicates, opsWithDuplicates, lost, requests, wrong };
}
