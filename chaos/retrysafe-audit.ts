import { deriveKey } from '../src/index.ts';
import { openRetrysafeStore } from './impls/retrysafe.ts';
import type { StoreSpec } from './impls/types.ts';

export interface NotSucceeded {
  readonly op: string;
  readonly state: string;
  readonly reason: string | null;
}

/**
 * Reads the retrysafe store after a run: operations whose record is not `succeeded`, and the number of
 * `late_write` audit entries (stale holders' settlements the store refused and kept as evidence).
 */
export async function auditRetrysafe(
  spec: StoreSpec,
  ops: readonly string[],
): Promise<{ notSucceeded: NotSucceeded[]; lateWrites: number }> {
  const store = await openRetrysafeStore(spec);
  try {
    const notSucceeded: NotSucceeded[] = [];
    let lateWrites = 0;
    for (const op of ops) {
      const key = deriveKey({
        namespace: 'chaos',
        operation: 'charge',
        version: 1,
        scope: undefined,
        fields: { op },
      });
      const record = await store.get(key);
      if (record?.state !== 'succeeded') {
        notSucceeded.push({ op, state: record?.state ?? 'no record', reason: record?.reason ?? null });
      }
      lateWrites += (await store.audit(key)).filter((entry) => entry.event === 'late_write').length;
    }
    return { notSucceeded, lateWrites };
  } finally {
    await store.close();
  }
}
