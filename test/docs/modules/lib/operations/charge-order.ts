/**
 * What docs/cli.md's config file imports (`./lib/operations/charge-order.js`): an operation's
 * definition object, shared by the job that declares it and by the CLI that reconciles it.
 */
import type { OperationDefinition } from 'retrysafe';
import { payments, type Charge, type Order } from '../../payments.js';

export const chargeOrder: OperationDefinition<Order, Charge, { amount: number }, { orderId: number }> = {
  name: 'charge-order',
  version: 1,
  key: (order) => ({ orderId: order.id }),
  payload: (order) => ({ amount: order.amount }),
  call: (order, { providerKey, signal }) => payments.charge(order, { idempotencyKey: providerKey, signal }),
  lookup: async (_payload, { fields }) => {
    const found = await payments.findByOrder(fields.orderId);
    return found ? { status: 'found', value: found } : { status: 'absent' };
  },
};
