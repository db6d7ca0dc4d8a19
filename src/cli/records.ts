import type { IdempotencyRecord } from '../index.ts';
import { isLapsed } from '../machine/lapse.ts';
import { formatDuration } from './duration.ts';
import { isoTime, stateStyle, table, type Cell } from './output.ts';

/** The state as an operator reads it: a lapsed lease is shown as such. */
export function stateLabel(record: IdempotencyRecord, now: number): Cell {
  if (isLapsed(record, now)) {
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
