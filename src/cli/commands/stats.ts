import type { RecordState } from '../../index.ts';
import { storeStats, type OldestRecord } from '../../operations/index.ts';
import type { Command } from '../command.ts';
import { formatDuration } from '../duration.ts';
import { ExitCode } from '../exit-codes.ts';
import { fields, isoTime, printJson, stateStyle, table, type Cell } from '../output.ts';

const STATES: readonly RecordState[] = ['in_flight', 'unknown', 'succeeded', 'failed', 'released'];

export const statsCommand: Command = {
  name: 'stats',
  summary: 'counts per state and operation; age of the oldest unknown and in-flight records',
  usage: 'stats',
  // Accepted and ignored: counts come from the store's indexes, so there is nothing left to limit.
  options: { 'scan-limit': { type: 'string' } },
  async run({ io, json, colour, session }) {
    const { store } = await session();
    const stats = await storeStats(store);
    const { byState, byOperation, lapsedInFlight: lapsed } = stats;
    if (json) {
      printJson(io, {
        now: stats.now,
        total: stats.total,
        // Counts are exact since they come from the store's indexes; kept for scripts that read it.
        complete: true,
        byState,
        byOperation,
        lapsedInFlight: lapsed,
        oldestUnknown: stats.oldestUnknown,
        oldestInFlight: stats.oldestInFlight,
      });
    } else {
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
              ['all', ...STATES.map((state) => countCell(byState[state], state)), String(stats.total)],
            ]),
          colour,
        ),
      );
      io.stdout.write('\n');
      io.stdout.write(
        fields(
          [
            ['oldest unknown', describeOldest(stats.oldestUnknown)],
            ['oldest in_flight', describeOldest(stats.oldestInFlight)],
            ['in_flight, lease lapsed', { text: String(lapsed), style: lapsed > 0 ? 'red' : undefined }],
          ],
          colour,
        ),
      );
    }
    return stats.needingAttention > 0 ? ExitCode.UnknownFound : ExitCode.Ok;
  },
};

function countCell(count: number, state: RecordState): Cell {
  const alert = (state === 'unknown' || state === 'in_flight') && count > 0;
  return { text: String(count), style: alert ? stateStyle(state) : undefined };
}

function describeOldest(oldest: OldestRecord | null): string {
  if (oldest === null) return '-';
  return `${formatDuration(oldest.ageMs)} (${oldest.key}, since ${isoTime(oldest.updatedAt)})`;
}
