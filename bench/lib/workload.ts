import { setTimeout as sleep } from 'node:timers/promises';
import type { Operation, RetrySafe } from '../../src/index.ts';

/** The input of every benchmark operation: the key field and a small payload. */
export interface Charge {
  readonly id: string;
  readonly amount: number;
}

/** A small result, like a provider's charge reference. */
export interface Receipt {
  readonly chargeId: string;
  readonly ok: true;
}

export const NOOP = 'no-op';
export const sleepName = (ms: number): string => `sleep ${ms} ms`;

export function receiptOf(charge: Charge): Receipt {
  return { chargeId: `ch_${charge.id}`, ok: true };
}

/** The JSON the floor records: the same bytes retrysafe stores for a receipt. */
export const floorResult = (key: string): string => JSON.stringify({ chargeId: `ch_${key}`, ok: true });

/**
 * The benchmark's operation: key field `id`, payload `{ amount }`, and a downstream call that does
 * nothing (`sleepMs` 0) or sleeps, so that the library's own cost is what is measured.
 */
export function chargeOperation(rs: RetrySafe, sleepMs = 0, name = 'charge'): Operation<Charge, Receipt> {
  return rs.operation({
    name,
    version: 1,
    key: (charge: Charge) => ({ id: charge.id }),
    payload: (charge) => ({ amount: charge.amount }),
    call: async (charge) => {
      if (sleepMs > 0) await sleep(sleepMs);
      return receiptOf(charge);
    },
  });
}

/** A key-field value unique to this run and index. */
export const keyOf = (tag: string, i: number): string => `${tag}-${i}`;

/** A floor key of the length of a derived retrysafe key (about 90 characters). */
export const floorKey = (tag: string, i: number): string =>
  `rs1:bench:floor@1:-:${tag}:${String(i).padStart(64 - tag.length - 1, '0')}`;
