/**
 * The docs examples' order source (`import { dueOrders } from './orders.js'`), where a user's job would
 * read its database: the orders in `DUE_ORDERS` (JSON), one order by default.
 */
import type { Order } from './payments.js';

export async function dueOrders(): Promise<Order[]> {
  const listed = process.env['DUE_ORDERS'];
  return Promise.resolve(
    listed === undefined || listed === '' ? [{ id: 1002, amount: 4999 }] : (JSON.parse(listed) as Order[]),
  );
}
