/**
 * Counting and printing. Apart from `logical` (the orders given to the automation), every figure is
 * counted from what the payments server recorded (its ledger), the automation's own bookkeeping and,
 * for retrysafe, its store; nothing is taken from the fault plan.
 */
import type { AuditEntry, IdempotencyRecord } from '../src/index.ts';
import type { Ledger, Order, Variant } from './protocol.ts';

export interface Figures {
  /** Logical operations: distinct orders the automation was given. */
  readonly logical: number;
  /** `POST /charges` received by the server. */
  readonly calls: number;
  /** `GET /charges?orderId=` received by the server (reconciliation). */
  readonly lookups: number;
  /** Charges in the server's ledger. */
  readonly charges: number;
  /** Charges beyond one per order. */
  readonly duplicates: number;
  /** Orders the server never charged. */
  readonly missing: number;
  /**
   * Outcomes left unknown at the end: retrysafe records still `unknown` (or `in_flight` with nobody
   * left to finish them); for naive, orders whose outcome the automation never learned (not marked paid).
   */
  readonly unknown: number;
  /** Charges of the order whose first answer was a 500 stored under its idempotency key (want: 1). */
  readonly storedErrorCharges: number;
  /** Times a run gave up on an order after its retries, not knowing whether it was charged. */
  readonly gaveUp: number;
  /** retrysafe only: records in the store (one per logical operation). */
  readonly records?: number;
  /** retrysafe only: unknown outcomes settled through the lookup (found, or absent and retried). */
  readonly reconciled?: number;
}

/** What the retrysafe store holds at the end. */
export interface StoreFacts {
  readonly records: readonly IdempotencyRecord[];
  readonly audit: readonly AuditEntry[];
}

/** Charges per order id, from the ledger. */
export function chargesPerOrder(ledger: Ledger): Map<string, number> {
  const counts = new Map<string, number>();
  for (const charge of ledger.charges) counts.set(charge.orderId, (counts.get(charge.orderId) ?? 0) + 1);
  return counts;
}

export function countFigures(input: {
  readonly orders: readonly Order[];
  readonly ledger: Ledger;
  readonly paid: ReadonlySet<string>;
  readonly gaveUp: number;
  readonly store: StoreFacts | undefined;
  /** The order whose first answer was a 500 stored under its key. */
  readonly storedErrorOrder: string;
}): Figures {
  const { orders, ledger, paid, store } = input;
  const perOrder = chargesPerOrder(ledger);
  const logical = new Set(orders.map((order) => order.id)).size;
  let duplicates = 0;
  for (const count of perOrder.values()) duplicates += Math.max(0, count - 1);
  const missing = orders.filter((order) => (perOrder.get(order.id) ?? 0) === 0).length;
  const base = {
    logical,
    calls: ledger.posts,
    lookups: ledger.lookups,
    charges: ledger.charges.length,
    duplicates,
    missing,
    storedErrorCharges: perOrder.get(input.storedErrorOrder) ?? 0,
    gaveUp: input.gaveUp,
  };
  if (store === undefined) {
    return { ...base, unknown: orders.filter((order) => !paid.has(order.id)).length };
  }
  return {
    ...base,
    unknown: store.records.filter((record) => record.state === 'unknown' || record.state === 'in_flight')
      .length,
    records: store.records.length,
    reconciled: store.audit.filter(
      (entry) => (entry.event === 'resolved' && entry.actor === 'reconciler') || entry.event === 'reclaimed',
    ).length,
  };
}

/** Formats rows as aligned columns; `align` has one letter per column, `l` or `r` (default: `l` then `r`). */
export function formatTable(rows: readonly (readonly string[])[], align = 'l'): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map(
      (row) =>
        '  ' +
        row
          .map((cell, i) =>
            (align[i] ?? 'r') === 'l' ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0),
          )
          .join('   ')
          .trimEnd(),
    )
    .join('\n');
}

const SUMMARY_ROWS: readonly (readonly [string, keyof Figures])[] = [
  ['logical operations (orders)', 'logical'],
  ['calls sent (POSTs received)', 'calls'],
  ['lookups (GETs received)', 'lookups'],
  ['charges made', 'charges'],
  ['duplicate charges', 'duplicates'],
  ['orders never charged', 'missing'],
  ['outcomes left unknown', 'unknown'],
  ['charges of the order with a 500 stored under its key', 'storedErrorCharges'],
  ['gave up after retries', 'gaveUp'],
  ['reconciled by lookup', 'reconciled'],
];

/** One column per run of the automation. */
export function summaryTable(figures: Readonly<Record<Variant, Figures>>): string {
  const cell = (variant: Variant, name: keyof Figures): string => {
    const value = figures[variant][name];
    return value === undefined ? '-' : String(value);
  };
  return formatTable([
    ['', 'naive', 'retrysafe'],
    ...SUMMARY_ROWS.map(([label, name]) => [label, cell('naive', name), cell('retrysafe', name)]),
  ]);
}

/** The orders where something happened: a fault was injected, or an order was not charged exactly once. */
export function perOrderTable(
  orders: readonly Order[],
  labels: ReadonlyMap<string, string>,
  ledgers: Readonly<Record<Variant, Ledger>>,
): string {
  const naive = chargesPerOrder(ledgers.naive);
  const safe = chargesPerOrder(ledgers.retrysafe);
  const rows = orders
    .filter((order) => labels.has(order.id) || naive.get(order.id) !== 1 || safe.get(order.id) !== 1)
    .map((order) => [
      order.id,
      labels.get(order.id) ?? '',
      String(naive.get(order.id) ?? 0),
      String(safe.get(order.id) ?? 0),
    ]);
  return formatTable([['order', 'fault injected', 'naive charges', 'retrysafe charges'], ...rows], 'llrr');
}
