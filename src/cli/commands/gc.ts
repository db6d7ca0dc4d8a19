import { positiveInteger } from '../args.ts';
import type { Command } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { fields, printJson } from '../output.ts';

export const gcCommand: Command = {
  name: 'gc',
  summary: 'compact records past their TTL into tombstones and delete those past their tombstone, in batches',
  usage: 'gc [--batch-size N] [--max-batches N]',
  options: { 'batch-size': { type: 'string' }, 'max-batches': { type: 'string' } },
  async run({ io, values, json, colour, session }) {
    const batchSize = positiveInteger(values, 'batch-size');
    const maxBatches = positiveInteger(values, 'max-batches');
    const { rs } = await session();
    const summary = await rs.gc({
      ...(batchSize === undefined ? {} : { batchSize }),
      ...(maxBatches === undefined ? {} : { maxBatches }),
    });
    if (json) {
      printJson(io, summary);
    } else {
      io.stdout.write(
        fields(
          [
            ['compacted (result dropped, tombstone kept)', String(summary.compacted)],
            ['deleted (past tombstone)', String(summary.deleted)],
          ],
          colour,
        ),
      );
      if (maxBatches !== undefined)
        io.stdout.write(`(stopped after at most ${maxBatches} batches of each kind)\n`);
    }
    return ExitCode.Ok;
  },
};
