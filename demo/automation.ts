/**
 * The automation under test: for each order not yet marked paid, charge it, then mark it paid. Both
 * variants run this same code, with the same retry loop; they differ only in the charger: `naive` calls
 * the payments API directly, `retrysafe` wraps the very same call in `rs.operation(...)`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultClassify, retrysafe, type Classification, type LookupAnswer } from '../src/index.ts';
import { sqliteStore } from '../src/stores/sqlite/index.ts';
import type { PaidOrders } from './orders-db.ts';
import { createCharge, findCharges, PaymentsHttpError } from './payments-client.ts';
import type { Charge, Order, OrderOutcome, Variant } from './protocol.ts';

/** Each HTTP request gives up after this long. */
export const REQUEST_TIMEOUT_MS = 300;
/** Plain retries: this many tries per order, with these pauses between them. */
export const TRIES = 3;
export const BACKOFF_MS = [50, 100] as const;
/** retrysafe: a killed worker's claim lapses after this; the next run then reconciles. */
export const LEASE_MS = 1500;

export interface ChargeResult {
  readonly charge: Charge;
  readonly replayed: boolean;
  readonly reconciled: boolean;
}

/** Charges one order once per call; the variants differ only here. */
export interface Charger {
  charge(order: Order): Promise<ChargeResult>;
  close(): Promise<void>;
}

/** Runs the automation over `orders`, reporting each order's outcome as it ends. */
export async function runOrders(
  orders: readonly Order[],
  charger: Charger,
  paid: PaidOrders,
  runName: string,
  report: (order: Order, outcome: OrderOutcome) => void,
): Promise<void> {
  for (const order of orders) {
    if (paid.isPaid(order.id)) {
      report(order, { kind: 'skipped' });
      continue;
    }
    let lastError: unknown;
    let tries = 0;
    let result: ChargeResult | undefined;
    while (result === undefined && tries < TRIES) {
      if (tries > 0) await sleep(BACKOFF_MS[tries - 1] ?? 100);
      tries++;
      try {
        result = await charger.charge(order);
      } catch (error) {
        lastError = error;
      }
    }
    if (result === undefined) {
      report(order, { kind: 'gave-up', tries, error: describe(lastError) });
      continue;
    }
    paid.markPaid(order.id, result.charge.id, runName);
    report(order, {
      kind: 'charged',
      chargeId: result.charge.id,
      tries,
      replayed: result.replayed,
      reconciled: result.reconciled,
    });
  }
}

/**
 * Plain retries: every try is a new POST. With `idempotencyKeys`, each carries the order id as its
 * `Idempotency-Key`, a stable key as the API's docs advise, so the server dedupes repeats itself.
 */
export function naiveCharger(baseUrl: string, idempotencyKeys = false): Charger {
  return {
    charge: async (order) => ({
      charge: await createCharge(
        baseUrl,
        order,
        AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        idempotencyKeys ? order.id : undefined,
      ),
      replayed: false,
      reconciled: false,
    }),
    close: () => Promise.resolve(),
  };
}

/**
 * The same POST, wrapped by retrysafe on a SQLite file, with a lookup to reconcile unknown outcomes.
 * With `idempotencyKeys`, each carries retrysafe's provider key as its `Idempotency-Key`.
 */
export function retrysafeCharger(baseUrl: string, storePath: string, idempotencyKeys = false): Charger {
  const store = sqliteStore({ path: storePath });
  const rs = retrysafe({ store, namespace: 'demo-shop' });
  const chargeOrder = rs.operation<Order, Charge, ChargeRequest>({
    name: 'charge-order',
    version: 1,
    key: (order) => ({ orderId: order.id }),
    payload: (order) => ({ orderId: order.id, amount: order.amount, currency: order.currency }),
    call: (order, { signal, providerKey }) =>
      createCharge(
        baseUrl,
        order,
        AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
        idempotencyKeys ? providerKey : undefined,
      ),
    classify,
    lookup: (request) => lookupCharge(baseUrl, request),
    providerRef: (charge) => charge.id,
    leaseMs: LEASE_MS,
    // A run that finds another run's call in flight waits for it (or for its lease to lapse).
    waitMs: 4 * LEASE_MS,
  });
  return {
    charge: async (order) => {
      const { value, replayed, reconciled } = await chargeOrder(order);
      return { charge: value, replayed, reconciled };
    },
    close: () => store.close(),
  };
}

/** A 4xx is the API refusing the charge (nothing charged); a timeout or a lost answer may have charged. */
function classify(error: unknown): Classification {
  if (error instanceof PaymentsHttpError && error.status >= 400 && error.status < 500) return 'failed';
  return defaultClassify(error);
}

/** What is sent to the payments API, and all a lookup needs to find it again. */
interface ChargeRequest {
  readonly orderId: string;
  readonly amount: number;
  readonly currency: string;
}

/** Was the order charged? Consistent at once on this API, so `absent` can be trusted without delay. */
async function lookupCharge(baseUrl: string, order: ChargeRequest): Promise<LookupAnswer<Charge>> {
  let found: Charge[];
  try {
    found = await findCharges(baseUrl, order.orderId, AbortSignal.timeout(REQUEST_TIMEOUT_MS));
  } catch (error) {
    return { status: 'unknown', reason: `lookup failed: ${describe(error)}` };
  }
  const match = found.find((charge) => charge.amount === order.amount && charge.currency === order.currency);
  if (match !== undefined) return { status: 'found', value: match, providerRef: match.id };
  if (found.length > 0) return { status: 'unknown', reason: 'the order has a charge with another amount' };
  return { status: 'absent' };
}

export function chargerFor(
  variant: Variant,
  baseUrl: string,
  storePath: string,
  idempotencyKeys: boolean,
): Charger {
  return variant === 'naive'
    ? naiveCharger(baseUrl, idempotencyKeys)
    : retrysafeCharger(baseUrl, storePath, idempotencyKeys);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.name}: ${error.message}${cause}`;
}
