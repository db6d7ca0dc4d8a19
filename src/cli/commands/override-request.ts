import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fingerprint, type OverrideRequest } from '../../index.ts';
import { CommandFailure, onePositional, parseJson, requiredString, UsageError } from '../args.ts';
import type { CommandContext } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { fields, printJson } from '../output.ts';

export const overrideRequestOptions = {
  payload: { type: 'string' },
  by: { type: 'string' },
  reason: { type: 'string' },
} as const;

/**
 * `override request KEY --payload FILE`: the file holds the new payload exactly as the operation sends
 * it (what its `payload(input)` returns), as JSON; its RFC 8785 fingerprint is what the override allows.
 */
export async function overrideRequest(
  context: CommandContext,
  positionals: readonly string[],
): Promise<number> {
  const { io, values, json, colour } = context;
  const key = onePositional(positionals, 'KEY');
  const file = requiredString(values, 'payload');
  const by = requiredString(values, 'by');
  const reason = requiredString(values, 'reason');
  const payload = parseJson(readPayload(file, io.cwd), `--payload ${file}`);
  const newFingerprint = fingerprint(payload);
  const { store } = await context.session();
  const answer = await store.requestOverride({
    id: randomUUID(),
    key,
    fingerprint: newFingerprint,
    requestedBy: by,
    reason,
  });
  if (!answer.ok)
    throw new CommandFailure('RS_OVERRIDE_REFUSED', `override request refused: ${answer.reason}`);
  if (json) printJson(io, { override: answer.override });
  else io.stdout.write(describeOverride(answer.override, colour));
  return ExitCode.Ok;
}

export function describeOverride(override: OverrideRequest, colour: boolean): string {
  return fields(
    [
      ['override', override.id],
      ['key', override.key],
      ['status', { text: override.status, style: override.status === 'pending' ? 'yellow' : 'green' }],
      ['fingerprint', override.fingerprint],
      ['generation', String(override.generation)],
      ['requested by', override.requestedBy],
      ['reason', override.reason],
      ['approved by', override.approvedBy ?? '-'],
    ],
    colour,
  );
}

function readPayload(file: string, cwd: string): string {
  try {
    return readFileSync(file === '-' ? 0 : path.resolve(cwd, file), 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read --payload ${file}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
