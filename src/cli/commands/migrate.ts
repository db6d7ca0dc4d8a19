import type { Command } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { printJson } from '../output.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'create or upgrade the store schema (safe to run from several processes at once)',
  usage: 'migrate',
  options: {},
  migrates: true,
  async run({ io, json, session }) {
    const { store, where } = await session();
    await store.migrate();
    if (json) printJson(io, { store: store.name, where, migrated: true });
    else io.stdout.write(`migrated ${store.name} store at ${where}\n`);
    return ExitCode.Ok;
  },
};
