import { onePositional, requiredString } from '../args.ts';
import type { CommandContext } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { printJson } from '../output.ts';
import { describeOverride } from './override-request.ts';

export const overrideApproveOptions = { by: { type: 'string' } } as const;

/** `override approve ID --by WHO`: refused (exit 1) when WHO requested it, or the record moved on. */
export async function overrideApprove(
  context: CommandContext,
  positionals: readonly string[],
): Promise<number> {
  const { io, values, json, colour } = context;
  const id = onePositional(positionals, 'override ID');
  const by = requiredString(values, 'by');
  const { rs } = await context.session();
  const override = await rs.approveOverride(id, { by });
  const record = await rs.get(override.key);
  if (json) printJson(io, { override });
  else io.stdout.write(describeOverride(override, record?.fingerprint ?? null, colour));
  return ExitCode.Ok;
}
