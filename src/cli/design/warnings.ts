import type { Warning } from './model.ts';
import type { DesignSpec } from './spec.ts';

/** Words that make a key field look like it changes with every attempt. */
const PER_ATTEMPT_WORDS = new Set([
  'timestamp',
  'ts',
  'now',
  'date',
  'time',
  'datetime',
  'at',
  'epoch',
  'millis',
  'clock',
  'uuid',
  'guid',
  'random',
  'rand',
  'nonce',
  'salt',
  'attempt',
  'attempts',
  'retry',
  'retries',
  'try',
  'tries',
  'run',
  'execution',
  'invocation',
  'trace',
  'span',
]);

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;
/** Epoch milliseconds between 2001 and 2286, or epoch seconds between 2001 and 2286. */
function looksLikeEpoch(value: unknown): boolean {
  return (
    typeof value === 'number' &&
    Number.isInteger(value) &&
    ((value >= 1e12 && value < 1e13) || (value >= 1e9 && value < 1e10))
  );
}

/** `createdAt` -> [created, at]; `request_uuid` -> [request, uuid]. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .map((word) => word.toLowerCase())
    .filter((word) => word !== '');
}

/**
 * Key fields that look per-attempt (a time, a random id, an attempt counter), by name or by their
 * example value: with one, every retry gets a new key and retrysafe cannot recognise it.
 */
export function perAttemptWarnings(spec: DesignSpec): Warning[] {
  const { keyFields, example } = spec.operation;
  const warnings: Warning[] = [];
  if (keyFields.length === 0) {
    warnings.push({
      code: 'no-key-fields',
      message:
        'operation.keyFields is empty: every input would share one key. Name the fields that identify one logical write.',
    });
  }
  for (const field of keyFields) {
    const suspicious = words(field).filter((word) => PER_ATTEMPT_WORDS.has(word));
    if (suspicious.length > 0) {
      warnings.push({
        code: 'per-attempt-key-field',
        message:
          `Key field ${JSON.stringify(field)} looks per-attempt (${suspicious.join(', ')}): if it changes between ` +
          'retries, every retry gets a new key and is performed again. Key on the identity of the write instead.',
      });
      continue;
    }
    const value = example[field];
    const kind =
      typeof value === 'string' && UUID_V4.test(value)
        ? 'a random (version 4) UUID'
        : typeof value === 'string' && ISO_TIME.test(value)
          ? 'a timestamp'
          : looksLikeEpoch(value)
            ? 'an epoch timestamp'
            : undefined;
    if (kind !== undefined) {
      warnings.push({
        code: 'per-attempt-key-value',
        message:
          `Key field ${JSON.stringify(field)} has the example value ${JSON.stringify(value)}, which looks like ${kind}: ` +
          'make sure it is fixed for the logical write (assigned once upstream), not made per attempt.',
      });
    }
    if (!(field in example)) {
      warnings.push({
        code: 'example-missing-field',
        message: `operation.example has no value for key field ${JSON.stringify(field)}: the worked example needs one.`,
      });
    }
  }
  return warnings;
}
