import { readFileSync } from 'node:fs';
import path from 'node:path';
import { payloadMatches, type OverrideRequest } from '../../index.ts';
import { onePositional, parseJson, requiredString, UsageError } from '../args.ts';
import type { CommandContext } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { fields, isoTime, printJson } from '../output.ts';

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
  const { rs } = await context.session();
  const override = await rs.requestOverride(key, { payload, by, reason });
  const record = await rs.get(key);
  if (json) printJson(io, { override, currentFingerprint: record?.fingerprint ?? null });
  else io.stdout.write(describeOverride(override, record?.fingerprint ?? null, colour));
  return ExitCode.Ok;
}

/**
 * One override request as an approver needs it: what the key holds now (its fingerprint), what the
 * request would send instead (the proposed payload and its fingerprint), and whether the two agree.
 */
export function describeOverride(
  override: OverrideRequest,
  currentFingerprint: string | null,
  colour: boolean,
): string {
  const matches = payloadMatches(override);
  return fields(
    [
      ['override', override.id],
      ['key', override.key],
      ['status', { text: override.status, style: override.status === 'pending' ? 'yellow' : 'green' }],
      ['current fingerprint', currentFingerprint ?? '- (no record)'],
      ['proposed fingerprint', override.fingerprint],
      [
        'proposed payload',
        override.payload === null
          ? { text: '- (not stored: the operation keeps no payloads)', style: 'yellow' }
          : matches === true
            ? override.payload
            : { text: `${override.payload}  (DOES NOT MATCH its fingerprint: altered)`, style: 'red' },
      ],
      ['generation', String(override.generation)],
      ['attempt', String(override.attempt)],
      ['requested by', override.requestedBy],
      ['requested', isoTime(override.requestedAt)],
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
