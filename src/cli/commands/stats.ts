import type { IdempotencyRecord, RecordState, RetrySafe } from '../../index.ts';
import { positiveInteger } from '../args.ts';
import type { Command } from '../command.ts';
import { formatDuration } from '../duration.ts';
import { ExitCode } from '../exit-codes.ts';
import { fields, isoTime, printJson, stateStyle, table, type Cell } from '../output.ts';
import { needsAttention } from '../../machine/lapse.ts';

const STATES: readonly RecordState[] = ['in_flight', 'unknown', 'succeeded', 'failed', 'released'];
const DEFAULT_SCAN_LIMIT = 100_000;

interface Oldest {
  readonly key: string;
  readonly operation: string;
  readonly updatedAt: number;
  readonly ageMs: number;
}

export const statsCommand: Command = {
  name: 'stats',
  summary: 'counts per state and operation; age of the oldest unknown and in-flight records',
  usage: 'stats [--scan-limit N]',
  options: { 'scan-limit': { type: 'string' } },
  async run({ io, values, json, colour, session }) {
    const scanLimit = positiveInteger(values, 'scan-limit') ?? DEFAULT_SCAN_LIMIT;
    const { rs } = await session();
    const now = Date.now();
    const byState: Partial<Record<RecordState, number>> = {};
    const byOperation: Record<string, Partial<Record<RecordState, number>>> = {};
    const oldest: Partial<Record<RecordState, Oldest>> = {};
    let lapsed = 0;
    let complete = true;
    for (const state of STATES) {
      const records = await listState(rs, state, scanLimit);
      if (records.length === scanLimit) complete = false;
      byState[state] = records.length;
      for (const record of records) {
        const counts = (byOperation[record.operation] ??= {});
        counts[state] = (counts[state] ?? 0) + 1;
        if (state === 'in_flight' && needsAttention(record, now)) lapsed += 1;
      }
      // The store lists oldest change first.
      const first = records[0];
      if (first !== undefined) oldest[state] = oldestOf(first, now);
    }
    const total = Object.values(byState).reduce((sum, n) => sum + n, 0);
    const attention = (byState.unknown ?? 0) + lapsed;
    if (json) {
      printJson(io, {
        now,
        total,
        complete,
        byState,
        byOperation,
        lapsedInFlight: lapsed,
        oldestUnknown: oldest.unknown ?? null,
        oldestInFlight: oldest.in_flight ?? null,
      });
    } else {
      const mark = complete ? '' : '>=';
      io.stdout.write(
        table(
          ['OPERATION', ...STATES.map((s) => s.toUpperCase()), 'TOTAL'],
          Object.entries(byOperation)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([operation, counts]) => [
              operation,
              ...STATES.map((state): Cell => countCell(counts[state] ?? 0, state)),
              String(STATES.reduce((sum, state) => sum + (counts[state] ?? 0), 0)),
            ])
            .concat([
              ['all', ...STATES.map((state) => countCell(byState[state] ?? 0, state)), mark + String(total)],
            ]),
          colour,
        ),
      );
      io.stdout.write('\n');
      io.stdout.write(
        fields(
          [
            ['oldest unknown', describeOldest(oldest.unknown)],
            ['oldest in_flight', describeOldest(oldest.in_flight)],
            ['in_flight, lease lapsed', { text: String(lapsed), style: lapsed > 0 ? 'red' : undefined }],
          ],
          colour,
        ),
      );
      if (!complete)
        io.stdout.write(
          `(a state has ${scanLimit} or more records: counts are lower bounds; raise --scan-limit)\n`,
        );
    }
    return attention > 0 ? ExitCode.UnknownFound : ExitCode.Ok;
  },
};

function listState(rs: RetrySafe, state: RecordState, limit: number): Promise<IdempotencyRecord[]> {
  return rs.list({ states: [state], limit });
}

function oldestOf(record: IdempotencyRecord, now: number): Oldest {
  return {
    key: record.key,
    operation: record.operation,
    updatedAt: record.updatedAt,
    ageMs: Math.max(0, now - record.updatedAt),
  };
}

function countCell(count: number, state: RecordState): Cell {
  const alert = (state === 'unknown' || state === 'in_flight') && count > 0;
  return { text: String(count), style: alert ? stateStyle(state) : undefined };
}

function describeOldest(oldest: Oldest | undefined): string {
  if (oldest === undefined) return '-';
  return `${formatDuration(oldest.ageMs)} (${oldest.key}, since ${isoTime(oldest.updatedAt)})`;
}
