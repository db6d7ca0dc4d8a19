import type { ListFilter } from '../../index.ts';
import { positiveInteger, recordStates, stringOption } from '../args.ts';
import type { Command } from '../command.ts';
import { parseDuration } from '../duration.ts';
import { ExitCode } from '../exit-codes.ts';
import { printJson } from '../output.ts';
import { needsAttention } from '../../machine/lapse.ts';
import { recordsTable } from '../records.ts';

const DEFAULT_LIMIT = 100;

export const lsCommand: Command = {
  name: 'ls',
  summary: 'list records, oldest change first, filtered by state, operation and age',
  usage: 'ls [--state STATE[,STATE]] [--operation NAME@VERSION] [--older-than DURATION] [--limit N]',
  options: {
    state: { type: 'string', multiple: true },
    operation: { type: 'string' },
    'older-than': { type: 'string' },
    limit: { type: 'string' },
  },
  async run({ io, values, json, colour, session }) {
    const states = recordStates(values, 'state');
    const operation = stringOption(values, 'operation');
    const olderThan = stringOption(values, 'older-than');
    const limit = positiveInteger(values, 'limit') ?? DEFAULT_LIMIT;
    // Ages are measured on this machine's clock (the store's own clock is not readable through the API).
    const now = Date.now();
    const filter: ListFilter = {
      limit,
      ...(states.length === 0 ? {} : { states }),
      ...(operation === undefined ? {} : { operation }),
      ...(olderThan === undefined ? {} : { updatedBefore: now - parseDuration(olderThan, '--older-than') }),
    };
    const { rs } = await session();
    const records = await rs.list(filter);
    const attention = records.filter((record) => needsAttention(record, now)).length;
    if (json) {
      printJson(io, { now, count: records.length, limit, unknown: attention, records });
    } else if (records.length === 0) {
      io.stdout.write('no records\n');
    } else {
      io.stdout.write(recordsTable(records, now, colour));
      if (records.length === limit) io.stdout.write(`(first ${limit}; raise --limit for more)\n`);
    }
    return attention > 0 ? ExitCode.UnknownFound : ExitCode.Ok;
  },
};
