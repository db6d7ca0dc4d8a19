import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RecordState } from '../index.ts';

/** A mistake on the command line (or in a file it names): exit code 2, with the usage hint. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface ParsedArgs {
  readonly values: OptionValues;
  readonly positionals: readonly string[];
}

/** `parseArgs` in strict mode, with its errors turned into usage errors. */
export function parse(args: readonly string[], options: OptionsConfig): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values, positionals };
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new UsageError(`--${name} needs a value`);
  return value;
}

export function requiredString(values: OptionValues, name: string): string {
  const value = stringOption(values, name);
  if (value === undefined || value.trim() === '') throw new UsageError(`--${name} is required`);
  return value;
}

export function flag(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

export function stringList(values: OptionValues, name: string): string[] {
  const value = values[name];
  if (value === undefined) return [];
  const items = Array.isArray(value) ? value : [value];
  return items.flatMap((item) => (typeof item === 'string' ? item.split(',') : [])).filter((s) => s !== '');
}

export function positiveInteger(values: OptionValues, name: string): number | undefined {
  const text = stringOption(values, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

const STATES = Object.values(RecordState) as readonly string[];

export function recordStates(values: OptionValues, name: string): RecordState[] {
  return stringList(values, name).map((state) => {
    if (!STATES.includes(state)) {
      throw new UsageError(`--${name} must be one of ${STATES.join(', ')}, got ${JSON.stringify(state)}`);
    }
    return state as RecordState;
  });
}

/** Exactly one positional argument, named for the message. */
export function onePositional(positionals: readonly string[], what: string): string {
  if (positionals.length !== 1 || positionals[0] === undefined) {
    throw new UsageError(`expected exactly one ${what}, got ${positionals.length}`);
  }
  return positionals[0];
}

/** Parses JSON given on the command line or in a file; a syntax error is a usage error. */
export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(
      `${where} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** A command that could not do what was asked (exit code 1), with a machine-readable code for `--json`. */
export class CommandFailure extends Error {
  override readonly name = 'CommandFailure';
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}
