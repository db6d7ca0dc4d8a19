import { payloadMatches, type OverrideStatus } from '../../index.ts';
import { stringOption, UsageError } from '../args.ts';
import type { CommandContext } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { printJson } from '../output.ts';
import { currentFingerprints, describeOverrides } from './show.ts';

export const overrideLsOptions = { key: { type: 'string' }, status: { type: 'string' } } as const;

const STATUSES: readonly OverrideStatus[] = ['pending', 'approved', 'used'];

/** `override ls [--key KEY] [--status pending|approved|used]`. */
export async function overrideLs(context: CommandContext, positionals: readonly string[]): Promise<number> {
  const { io, values, json, colour } = context;
  if (positionals.length > 0) throw new UsageError('override ls takes no arguments (use --key KEY)');
  const key = stringOption(values, 'key');
  const status = stringOption(values, 'status');
  if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) {
    throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
  }
  const { rs } = await context.session();
  const overrides = (await rs.overrides(key)).filter((o) => status === undefined || o.status === status);
  const current = await currentFingerprints(rs, overrides);
  if (json) {
    printJson(io, {
      count: overrides.length,
      overrides: overrides.map((override) => ({
        ...override,
        currentFingerprint: current.get(override.key) ?? null,
        payloadMatches: payloadMatches(override) ?? null,
      })),
    });
  } else if (overrides.length === 0) io.stdout.write('no override requests\n');
  else io.stdout.write(describeOverrides(overrides, current, colour));
  return ExitCode.Ok;
}
