import type { ReconcileEntry, ReconcileOptions } from '../../index.ts';
import { flag, positiveInteger, stringList, stringOption } from '../args.ts';
import type { Command } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { isoTime, printJson, stateStyle, table, type Cell, type Style } from '../output.ts';
import { progressBar } from '../progress.ts';

export const reconcileCommand: Command = {
  name: 'reconcile',
  summary: 'plan (read only, the default) or --apply reconciliation of unknown and lapsed records',
  usage: 'reconcile [--apply] [--operation NAME@VERSION] [--key KEY]... [--limit N]',
  options: {
    apply: { type: 'boolean' },
    operation: { type: 'string' },
    key: { type: 'string', multiple: true },
    limit: { type: 'string' },
  },
  async run({ io, values, json, colour, session }) {
    const apply = flag(values, 'apply');
    const operation = stringOption(values, 'operation');
    const keys = stringList(values, 'key');
    const limit = positiveInteger(values, 'limit');
    const { rs } = await session();
    const progress = progressBar(io.stderr, 'reconciling');
    const options: ReconcileOptions = {
      ...(operation === undefined ? {} : { operation }),
      ...(keys.length === 0 ? {} : { keys }),
      ...(limit === undefined ? {} : { limit }),
      ...(apply
        ? {
            apply: true,
            onProgress: (done: number, total: number) => {
              progress.update(done, total);
            },
          }
        : {}),
    };
    let entries: ReconcileEntry[];
    try {
      entries = await rs.reconcile(options);
    } finally {
      progress.finish();
    }
    const open = entries.filter((entry) => stillOpen(entry, apply)).length;
    if (json) {
      printJson(io, {
        mode: apply ? 'apply' : 'plan',
        count: entries.length,
        unknown: open,
        summary: summarise(entries, apply),
        entries,
      });
    } else if (entries.length === 0) {
      io.stdout.write('nothing to reconcile\n');
    } else {
      io.stdout.write(entriesTable(entries, apply, colour));
      const counts = Object.entries(summarise(entries, apply))
        .map(([name, count]) => `${count} ${name}`)
        .join(', ');
      io.stdout.write(
        `\n${apply ? 'applied' : 'plan'}: ${counts}${apply ? '' : ' (run with --apply to act)'}\n`,
      );
    }
    return open > 0 ? ExitCode.UnknownFound : ExitCode.Ok;
  },
};

/**
 * Whether a record still has an unknown outcome: in a plan, everything but a live lease; after
 * `--apply`, what is still unknown or was left for a person.
 */
function stillOpen(entry: ReconcileEntry, applied: boolean): boolean {
  if (!applied) return entry.action !== 'wait';
  return (
    entry.outcome === 'unknown' ||
    entry.outcome === 'refused' ||
    (entry.outcome === 'skipped' && entry.action === 'manual')
  );
}

function summarise(entries: readonly ReconcileEntry[], applied: boolean): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const entry of entries) {
    const name = applied ? (entry.outcome ?? 'skipped') : entry.action;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

const OUTCOME_STYLE: Readonly<Record<string, Style>> = {
  succeeded: 'green',
  failed: 'magenta',
  released: 'cyan',
  unknown: 'red',
  skipped: 'yellow',
  moved: 'dim',
  refused: 'red',
};

function entriesTable(entries: readonly ReconcileEntry[], applied: boolean, colour: boolean): string {
  const headers = [
    'KEY',
    'OPERATION',
    'STATE',
    'ATTEMPT',
    'UPDATED',
    'ACTION',
    ...(applied ? ['OUTCOME'] : []),
    'REASON',
  ];
  return table(
    headers,
    entries.map((entry) => {
      const outcome: Cell[] = applied
        ? [{ text: entry.outcome ?? '-', style: OUTCOME_STYLE[entry.outcome ?? ''] }]
        : [];
      return [
        entry.key,
        entry.operation,
        { text: entry.state, style: stateStyle(entry.state) },
        String(entry.attempt),
        isoTime(entry.updatedAt),
        {
          text: entry.action,
          style: entry.action === 'manual' || entry.action === 'refuse' ? 'red' : undefined,
        },
        ...outcome,
        entry.reason,
      ];
    }),
    colour,
  );
}
