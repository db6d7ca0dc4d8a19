import type { Command } from '../command.ts';
import { designCommand } from './design.ts';
import { gcCommand } from './gc.ts';
import { keyCommand } from './key.ts';
import { lsCommand } from './ls.ts';
import { migrateCommand } from './migrate.ts';
import { overrideCommand } from './override.ts';
import { reconcileCommand } from './reconcile.ts';
import { resolveCommand } from './resolve.ts';
import { showCommand } from './show.ts';
import { statsCommand } from './stats.ts';

/** Every command, in the order `--help` lists them. */
export const commands: readonly Command[] = [
  migrateCommand,
  lsCommand,
  showCommand,
  keyCommand,
  statsCommand,
  reconcileCommand,
  resolveCommand,
  overrideCommand,
  gcCommand,
  designCommand,
];
