import { deriveKey } from '../src/index.ts';
import { openRetrysafeStore } from './impls/retrysafe.ts';
import type { StoreSpec } from './impls/types.ts';

export interface NotSucceeded {
  readonly op: string;
  readonly state: string;
  readonly reason: string | null;
}

export interface RetrysafeAudit {
  readonly notSucceeded: NotSucceeded[];
  /** `late_write` audit entries in all. */
  readonly lateWrites: number;
  /** `late_write` entries per operation (operations with none are left out). */
  readonly lateWritesByOp: ReadonlyMap<string, number>;
  /** Each operation's audit trail as `event@attempt +ms detail` (to explain a violation). */
  readonly trails: ReadonlyMap<string, readonly string[]>;
}

/**
 * Reads the retrysafe store after a run: operations whose record is not `succeeded`, and the
 * `late_write` audit entries (stale holders' settlements the store refused and kept as evidence).
 */
export async function auditRetrysafe(spec: StoreSpec, ops: readonly string[]): Promise<RetrysafeAudit> {
  const store = await openRetrysafeStore(spec);
  try {
    const notSucceeded: NotSucceeded[] = [];
    const lateWritesByOp = new Map<string, number>();
    const trails = new Map<string, string[]>();
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
      const entries = await store.audit(key);
      trails.set(
        op,
        entries.map(
          (entry) =>
            `${entry.event}@${entry.attempt} +${entry.at - (entries[0]?.at ?? 0)}ms ${entry.detail.slice(0, 240)}`,
        ),
      );
      const late = entries.filter((entry) => entry.event === 'late_write').length;
      if (late > 0) lateWritesByOp.set(op, late);
      lateWrites += late;
    }
    return { notSucceeded, lateWrites, lateWritesByOp, trails };
  } finally {
    await store.close();
  }
}
