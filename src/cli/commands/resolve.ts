import type { IdempotencyRecord, Resolution, SettledState } from '../../index.ts';
import { flag, onePositional, parseJson, requiredString, stringOption, UsageError } from '../args.ts';
import type { Command } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { fields, printJson } from '../output.ts';
import { stateLabel } from '../records.ts';

const OUTCOMES: readonly (readonly [string, SettledState])[] = [
  ['succeeded', 'succeeded'],
  ['failed', 'failed'],
  ['not-performed', 'released'],
];

export const resolveCommand: Command = {
  name: 'resolve',
  summary:
    'settle an unknown (or lapsed) record by hand, on evidence (--ref) or with a second person; audited',
  usage: [
    'resolve KEY (--succeeded [--ref REF] [--result JSON] | --failed [--ref REF] | --not-performed [--new-generation]) --by WHO --reason WHY [--request]',
    'resolve KEY --approve REQUEST-ID --by WHO',
  ].join('\n       '),
  options: {
    request: { type: 'boolean' },
    approve: { type: 'string' },
    succeeded: { type: 'boolean' },
    failed: { type: 'boolean' },
    'not-performed': { type: 'boolean' },
    'new-generation': { type: 'boolean' },
    ref: { type: 'string' },
    result: { type: 'string' },
    by: { type: 'string' },
    reason: { type: 'string' },
  },
  async run({ io, values, positionals, json, colour, session }) {
    const key = onePositional(positionals, 'KEY');
    const approve = stringOption(values, 'approve');
    if (approve !== undefined) {
      const by = requiredString(values, 'by');
      const { rs } = await session();
      const record = await rs.approveResolution(key, approve, { by });
      if (json) printJson(io, { record });
      else io.stdout.write(describeResolved(record, by, record.reason ?? '', colour));
      return ExitCode.Ok;
    }
    const chosen = OUTCOMES.filter(([option]) => flag(values, option));
    const outcome = chosen[0];
    if (chosen.length !== 1 || outcome === undefined) {
      throw new UsageError('give exactly one of --succeeded, --failed, --not-performed');
    }
    const state = outcome[1];
    const by = requiredString(values, 'by');
    const reason = requiredString(values, 'reason');
    const ref = stringOption(values, 'ref');
    const resultText = stringOption(values, 'result');
    if (resultText !== undefined && state !== 'succeeded') {
      throw new UsageError(
        '--result goes with --succeeded only (a failure or a non-performed call has none)',
      );
    }
    if (ref !== undefined && state === 'released') {
      throw new UsageError('--ref makes no sense with --not-performed: the provider never saw the request');
    }
    const newGeneration = flag(values, 'new-generation');
    if (newGeneration && state !== 'released') {
      throw new UsageError(
        '--new-generation goes with --not-performed only: a new provider key is for a write that did not happen',
      );
    }
    const resolution: Resolution = {
      state,
      by,
      reason,
      ...(newGeneration ? { newGeneration } : {}),
      ...(ref === undefined ? {} : { providerRef: ref }),
      ...(resultText === undefined ? {} : { result: parseJson(resultText, '--result') }),
    };
    const { rs } = await session();
    if (flag(values, 'request')) {
      const request = await rs.requestResolution(key, resolution);
      if (json) printJson(io, { request });
      else
        io.stdout.write(
          fields(
            [
              ['resolution request', request.id],
              ['key', request.key],
              ['attempt', String(request.attempt)],
              ['state', request.state],
              ...(request.newGeneration
                ? [['new generation', 'yes: the next attempt sends a new provider key'] as const]
                : []),
              ['requested by', request.requestedBy],
              ['reason', request.reason],
              ['next', `another person runs: retrysafe resolve ${key} --approve ${request.id} --by WHO`],
            ],
            colour,
          ),
        );
      return ExitCode.Ok;
    }
    const record = await rs.resolve(key, resolution);
    if (json) printJson(io, { record });
    else io.stdout.write(describeResolved(record, by, reason, colour));
    return ExitCode.Ok;
  },
};

function describeResolved(record: IdempotencyRecord, by: string, reason: string, colour: boolean): string {
  return fields(
    [
      ['resolved', record.key],
      ['state', stateLabel(record, Date.now())],
      ['attempt', String(record.attempt)],
      ['generation', String(record.generation)],
      ['by', by],
      ['reason', reason],
    ],
    colour,
  );
}
