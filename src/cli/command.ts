import type { OptionsConfig, OptionValues } from './args.ts';
import type { Io } from './output.ts';
import type { Session } from './session.ts';

/** What a command gets: its parsed arguments, where to write, and the store on demand. */
export interface CommandContext {
  readonly io: Io;
  readonly values: OptionValues;
  readonly positionals: readonly string[];
  /** `--json`: print one JSON document on stdout instead of tables. */
  readonly json: boolean;
  /** Colour on stdout (a terminal, and NO_COLOR unset). */
  readonly colour: boolean;
  /** Opens the store (once); the runner closes it after the command. */
  readonly session: () => Promise<Session>;
}

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Usage lines after `retrysafe`. */
  readonly usage: string;
  /** Options of this command (the global ones are added by the runner). */
  readonly options: OptionsConfig;
  /** Opens the store with permission to create it (only `migrate`). */
  readonly migrates?: boolean;
  /** Needs no store at all (`design`). */
  readonly storeless?: boolean;
  run(context: CommandContext): Promise<number>;
}
