import type { Charge, Order } from './protocol.ts';

/** The payments API answered with an error status. */
export class PaymentsHttpError extends Error {
  readonly status: number;
  /** The answer is one stored under the request's idempotency key, replayed (`Idempotent-Replayed`). */
  readonly replayed: boolean;
  constructor(status: number, message: string, replayed = false) {
    super(`payments API answered ${status}${replayed ? ' (replayed)' : ''}: ${message}`);
    this.name = 'PaymentsHttpError';
    this.status = status;
    this.replayed = replayed;
  }
}

async function failure(res: Response): Promise<PaymentsHttpError> {
  const text = await res.text().catch(() => '');
  return new PaymentsHttpError(
    res.status,
    text.slice(0, 200),
    res.headers.get('idempotent-replayed') === 'true',
  );
}

/**
 * `POST /charges`: charges the order. Without an idempotency key every call that reaches the server
 * charges; with one, the server answers a repeat from what it stored under the key.
 */
export async function createCharge(
  baseUrl: string,
  order: Order,
  signal: AbortSignal,
  idempotencyKey?: string,
): Promise<Charge> {
  const res = await fetch(`${baseUrl}/charges`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
    },
    body: JSON.stringify({ orderId: order.id, amount: order.amount, currency: order.currency }),
    signal,
  });
  if (res.status !== 201) throw await failure(res);
  return (await res.json()) as Charge;
}

/** `GET /charges?orderId=`: the charges the server holds for one order (used to reconcile). */
export async function findCharges(baseUrl: string, orderId: string, signal: AbortSignal): Promise<Charge[]> {
  const res = await fetch(`${baseUrl}/charges?orderId=${encodeURIComponent(orderId)}`, { signal });
  if (res.status !== 200) throw await failure(res);
  return ((await res.json()) as { data: Charge[] }).data;
}
