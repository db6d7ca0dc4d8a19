/**
 * The demo's script: the orders, and the runs of the automation with the faults injected during each.
 * Faults are keyed on order and request number, so both variants face exactly the same plan.
 */
import type { FaultRule, Order } from './protocol.ts';

export const ORDERS: readonly Order[] = Array.from({ length: 21 }, (_, i) => ({
  id: `ord-${1001 + i}`,
  amount: 1500 + 125 * i,
  currency: 'eur',
}));

const FIRST_BATCH = ORDERS.slice(0, 12);
const SECOND_BATCH = ORDERS.slice(12, 20);
const KEYED_BATCH = ORDERS.slice(20);

/** The order whose first answer is a 500 the payments API stores under the request's idempotency key. */
export const STORED_ERROR_ORDER = 'ord-1021';

/** The order whose charge the server holds while the worker calling it is killed. */
export const KILLED_ORDER = 'ord-1010';

/** A fault of the plan with the words that explain it. */
export interface PlannedFault {
  readonly rule: FaultRule;
  /** Short label for the per-order table. */
  readonly label: string;
  readonly explain: string;
}

export interface Phase {
  readonly title: string;
  readonly explain: string;
  readonly orders: readonly Order[];
  /** How many workers start together over `orders`. */
  readonly workers: number;
  readonly faults: readonly PlannedFault[];
  /** Kill the (single) worker with SIGKILL once the server holds this order's charge. */
  readonly killWhenHeld?: string;
  /** The automation sends an `Idempotency-Key` with each charge in this phase. @default false */
  readonly idempotencyKeys?: boolean;
}

export const PHASES: readonly Phase[] = [
  {
    title: 'run 1',
    explain: `a worker charges ${FIRST_BATCH.length} orders; the payments API misbehaves on some of them`,
    orders: FIRST_BATCH,
    workers: 1,
    killWhenHeld: KILLED_ORDER,
    faults: [
      {
        rule: { orderId: 'ord-1002', requests: [1], fault: 'fail-503' },
        label: '503 before charging',
        explain: 'answered 503 before anything was charged (a retry is safe here)',
      },
      {
        rule: { orderId: 'ord-1004', requests: [1], fault: 'drop-after-charge' },
        label: 'response lost',
        explain: 'charged, then the connection dropped before the answer',
      },
      {
        rule: { orderId: 'ord-1006', requests: [1], fault: 'delay-after-charge', ms: 1000 },
        label: 'timeout after charge',
        explain: 'charged, but answered after 1 s; the client gave up after 300 ms',
      },
      {
        rule: { orderId: 'ord-1008', requests: [1, 2, 3], fault: 'drop-after-charge' },
        label: 'response lost x3',
        explain: 'charged, answer lost, three requests in a row',
      },
      {
        rule: { orderId: KILLED_ORDER, requests: [1], fault: 'hold-after-charge' },
        label: 'worker killed mid-call',
        explain: 'charged, then held unanswered while the worker is killed with SIGKILL',
      },
    ],
  },
  {
    title: 'run 2',
    explain: `the cron job starts a fresh worker over the same ${FIRST_BATCH.length} orders (no faults)`,
    orders: FIRST_BATCH,
    workers: 1,
    faults: [],
  },
  {
    title: 'runs 3+4',
    explain: `two runs start at once over ${SECOND_BATCH.length} new orders (overlapping schedules)`,
    orders: SECOND_BATCH,
    workers: 2,
    faults: [
      {
        rule: { orderId: '*', fault: 'rendezvous', ms: 200 },
        label: 'two runs at once',
        explain: "each charge waits up to 200 ms for the other run's request for the same order",
      },
    ],
  },
  {
    title: 'run 5',
    explain:
      `the automation now sends an Idempotency-Key (plain retries: the order id; retrysafe: its provider ` +
      `key) for ${KEYED_BATCH.map((order) => order.id).join(', ')}`,
    orders: KEYED_BATCH,
    workers: 1,
    idempotencyKeys: true,
    faults: [
      {
        rule: { orderId: STORED_ERROR_ORDER, requests: [1], fault: 'fail-500-stored' },
        label: '500 stored under the key',
        explain:
          'answered 500 before charging, and stored that 500 under the key: every request with it gets the 500 again',
      },
    ],
  },
  {
    title: 'run 6',
    explain: `the cron job runs again over ${KEYED_BATCH.map((order) => order.id).join(', ')} (no new faults)`,
    orders: KEYED_BATCH,
    workers: 1,
    idempotencyKeys: true,
    faults: [],
  },
];

/** The fault label of each order, for the per-order table. */
export function faultLabels(): Map<string, string> {
  const labels = new Map<string, string>();
  for (const phase of PHASES) {
    for (const { rule, label } of phase.faults) {
      const ids = rule.orderId === '*' ? phase.orders.map((order) => order.id) : [rule.orderId];
      for (const id of ids) labels.set(id, label);
    }
  }
  return labels;
}
