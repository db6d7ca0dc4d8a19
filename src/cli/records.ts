import type { IdempotencyRecord } from '../index.ts';
import { isLeaseLive } from '../machine/decide.ts';
import { formatDuration } from './duration.ts';
import { isoTime, stateStyle, table, type Cell } from './output.ts';

/** Unknown, or in flight past its lease: a record whose outcome nobody knows (SEMANTICS.md, invariant 4). */
export function needsAttention(record: IdempotencyRecord, now: number): boolean {
  return record.state === 'unknown' || (record.state === 'in_flight' && !isLeaseLive(record, now));
}

/** The state as an operator reads it: a lapsed lease is shown as such. */
export function stateLabel(record: IdempotencyRecord, now: number): Cell {
  if (record.state === 'in_flight' && needsAttention(record, now)) {
    return { text: 'in_flight (lapsed)', style: 'red' };
  }
  return { text: record.state, style: stateStyle(record.state) };
}

export function recordsTable(records: readonly IdempotencyRecord[], now: number, colour: boolean): string {
  return table(
    ['KEY', 'OPERATION', 'STATE', 'ATTEMPT', 'GEN', 'UPDATED', 'AGE', 'REASON'],
    records.map((record) => [
      record.key,
      record.operation,
      stateLabel(record, now),
      String(record.attempt),
      String(record.generation),
      isoTime(record.updatedAt),
      formatDuration(Math.max(0, now - record.updatedAt)),
      record.reason ?? '',
    ]),
    colour,
  );
}
