/**
 * The docs examples' own payments API client (`import { payments } from './payments.js'`), as a user's
 * project would have one: a thin HTTP client of the API at `PAYMENTS_URL` (the fake one in the tests).
 */

export interface Order {
  readonly id: number;
  readonly amount: number;
}

export interface Charge {
  readonly id: string;
  readonly orderId: number;
  readonly amount: number;
}

/** The card was declined: the provider charged nothing, and says so. */
export class CardDeclined extends Error {
  override readonly name = 'CardDeclined';
}

function baseUrl(): string {
  const url = process.env['PAYMENTS_URL'];
  if (url === undefined || url === '') throw new Error('PAYMENTS_URL is not set');
  return url;
}

export const payments = {
  /** Charges an order, sending `idempotencyKey` as the `Idempotency-Key` header. */
  async charge(order: Order, options: { idempotencyKey: string; signal: AbortSignal }): Promise<Charge> {
    const response = await fetch(new URL('/charges', baseUrl()), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': options.idempotencyKey },
      body: JSON.stringify({ orderId: order.id, amount: order.amount }),
      signal: options.signal,
    });
    if (response.status === 402) throw new CardDeclined(`order ${String(order.id)}: card declined`);
    if (!response.ok) throw new Error(`charge answered ${String(response.status)}`);
    return (await response.json()) as Charge;
  },

  /** The order's charge, if there is one (the provider's list of charges by order). */
  async findByOrder(orderId: number): Promise<Charge | undefined> {
    const url = new URL('/charges', baseUrl());
    url.searchParams.set('orderId', String(orderId));
    const response = await fetch(url);
    if (!response.ok) throw new Error(`charge list answered ${String(response.status)}`);
    const { data } = (await response.json()) as { data: Charge[] };
    return data[0];
  },
};
