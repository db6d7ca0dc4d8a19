import { deriveKey, providerKey, RetrySafeError } from '../../index.ts';
import { onePositional, parseJson, requiredString, stringOption, UsageError } from '../args.ts';
import type { Command } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { fields, printJson } from '../output.ts';

const OPERATION = /^(.+)@(\d+)$/;

/**
 * From a business id to its record: the key an operation derives from its key fields, and the default
 * provider key of its first generation, computed as the library does (no store is opened).
 */
export const keyCommand: Command = {
  name: 'key',
  summary: "compute the key (and provider key) of an operation's key fields, e.g. order 1002",
  usage: 'key --namespace NS --operation NAME@VERSION [--scope S] FIELDS_JSON   e.g. \'{"orderId":1002}\'',
  options: { namespace: { type: 'string' }, operation: { type: 'string' }, scope: { type: 'string' } },
  storeless: true,
  run({ io, values, positionals, json, colour }) {
    const namespace = requiredString(values, 'namespace');
    const operation = requiredString(values, 'operation');
    const scope = stringOption(values, 'scope');
    const parsed = OPERATION.exec(operation);
    if (parsed === null)
      throw new UsageError(`--operation must be NAME@VERSION, got ${JSON.stringify(operation)}`);
    const fieldsJson = parseJson(onePositional(positionals, 'FIELDS_JSON'), 'FIELDS_JSON');
    let key: string;
    try {
      key = deriveKey({
        namespace,
        operation: parsed[1] ?? '',
        version: Number(parsed[2]),
        scope,
        fields: fieldsJson,
      });
    } catch (error) {
      if (error instanceof RetrySafeError) throw new UsageError(error.message);
      throw error;
    }
    const provider = providerKey(key, 1);
    if (json) {
      printJson(io, { key, providerKey: provider, generation: 1 });
    } else {
      io.stdout.write(
        fields(
          [
            ['key', key],
            ['provider key', `${provider} (generation 1, default derivation; a profile may derive its own)`],
          ],
          colour,
        ),
      );
      io.stdout.write(`then: retrysafe show ${key}\n`);
    }
    return Promise.resolve(ExitCode.Ok);
  },
};
