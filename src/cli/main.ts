import { inspect } from 'node:util';
import { ErrorCode, RetrySafeError } from '../index.ts';
import { CommandFailure, flag, parse, stringOption, UsageError, type OptionsConfig } from './args.ts';
import type { Command, CommandContext } from './command.ts';
import { commands } from './commands/index.ts';
import { ExitCode } from './exit-codes.ts';
import { colourEnabled, printJson, safeStream, type Io } from './output.ts';
import { openSession, type Session } from './session.ts';

/** Options every command accepts, before or after the command name. */
const GLOBAL_OPTIONS: OptionsConfig = {
  store: { type: 'string' },
  config: { type: 'string' },
  'allow-volatile': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/**
 * Runs one command line and returns its exit code. Never throws: every error becomes a message on
 * stderr (and a JSON error document on stdout with `--json`) and an exit code from `ExitCode`.
 */
export async function main(argv: readonly string[], raw: Io): Promise<number> {
  // Records and provider answers reach the screen: nothing in them may act as a terminal escape.
  const io: Io = { ...raw, stdout: safeStream(raw.stdout), stderr: safeStream(raw.stderr) };
  const json = argv.includes('--json');
  let session: Session | undefined;
  try {
    const at = commandIndex(argv);
    const name = at === -1 ? undefined : argv[at];
    if (name === undefined || name === 'help') {
      io.stdout.write(help());
      return name === undefined && !argv.includes('--help') && !argv.includes('-h')
        ? ExitCode.Usage
        : ExitCode.Ok;
    }
    const command = commands.find((candidate) => candidate.name === name);
    if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    const rest = argv.filter((_arg, index) => index !== at);
    const { values, positionals } = parse(rest, { ...GLOBAL_OPTIONS, ...command.options });
    if (flag(values, 'help')) {
      io.stdout.write(commandHelp(command));
      return ExitCode.Ok;
    }
    const context: CommandContext = {
      io,
      values,
      positionals,
      json,
      colour: colourEnabled(io.stdout, io.env),
      session: async () => {
        if (command.storeless === true) throw new Error(`${command.name} uses no store`);
        session ??= await openSession(
          {
            store: stringOption(values, 'store'),
            config: stringOption(values, 'config'),
            allowVolatile: flag(values, 'allow-volatile'),
          },
          io.env,
          io.cwd,
          { migrating: command.migrates === true },
        );
        return session;
      },
    };
    return await command.run(context);
  } catch (error) {
    return report(error, io, json);
  } finally {
    if (session !== undefined) {
      await session.close().catch((error: unknown) => {
        io.stderr.write(`retrysafe: closing the store failed: ${message(error)}\n`);
      });
    }
  }
}

/** Index of the first argument that is not an option or an option's value, or -1. */
function commandIndex(argv: readonly string[]): number {
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] ?? '';
    if (!arg.startsWith('-')) return index;
    const name = arg.replace(/^--?/, '');
    if (!arg.includes('=') && GLOBAL_OPTIONS[name]?.type === 'string') index++;
  }
  return -1;
}

function report(error: unknown, io: Io, json: boolean): number {
  const { code, exit } = classify(error);
  const text = message(error);
  if (json) printJson(io, { error: { code, message: text } });
  io.stderr.write(`retrysafe: ${text}\n`);
  if (exit === ExitCode.Usage && error instanceof UsageError)
    io.stderr.write('run `retrysafe --help` for usage\n');
  return exit;
}

function classify(error: unknown): { code: string; exit: number } {
  if (error instanceof UsageError) return { code: 'USAGE', exit: ExitCode.Usage };
  if (error instanceof CommandFailure) return { code: error.code, exit: ExitCode.Failure };
  if (error instanceof RetrySafeError) {
    return {
      code: error.code,
      exit: error.code === ErrorCode.Configuration ? ExitCode.Usage : ExitCode.Failure,
    };
  }
  return { code: 'ERROR', exit: ExitCode.Failure };
}

/** The error's message with its causes: a store failure says what the driver said. */
function message(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    const text = current instanceof Error ? current.message : inspect(current);
    if (text !== '' && !parts.includes(text)) parts.push(text);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ');
}

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: retrysafe [--store ADDRESS | --config FILE] [--json] COMMAND [options]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'store: --store ADDRESS or RETRYSAFE_STORE, where ADDRESS is sqlite:PATH, postgres://…[?schema=S],',
    '       redis://…[?prefix=P] (--allow-volatile for a Redis that keeps nothing on disk);',
    '       with replicas: redis://…?replicaAcks=N[&replicaAckTimeoutMs=MS] or',
    '       ?allowUnacknowledgedReplicas=true, postgres://…?allowAsynchronousStandbys=true;',
    '       or --config FILE, a JS module exporting { store, operations?, client?, namespace?, close? }',
    'exit codes: 0 ok, 1 failure, 2 usage or configuration error, 3 unknown outcomes found,',
    '            4 design --check found warnings',
    'run `retrysafe COMMAND --help` for a command’s options; docs/cli.md has them all',
    '',
  ].join('\n');
}

function commandHelp(command: Command): string {
  return `usage: retrysafe ${command.usage}\n\n${command.summary}\n`;
}
