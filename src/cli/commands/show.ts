import type { AuditEntry, IdempotencyRecord, OverrideRequest, RetrySafe } from '../../index.ts';
import { CommandFailure, onePositional } from '../args.ts';
import type { Command } from '../command.ts';
import { formatDuration } from '../duration.ts';
import { ExitCode } from '../exit-codes.ts';
import { fields, isoTime, printJson, table, type Cell } from '../output.ts';
import { stateLabel } from '../records.ts';
import { describeOverride } from './override-request.ts';

export const showCommand: Command = {
  name: 'show',
  summary: 'one record with its audit trail and override requests',
  usage: 'show KEY',
  options: {},
  async run({ io, positionals, json, colour, session }) {
    const key = onePositional(positionals, 'KEY');
    const { rs } = await session();
    const [record, audit, overrides] = await Promise.all([rs.get(key), rs.audit(key), rs.overrides(key)]);
    if (record === undefined && audit.length === 0)
      throw new CommandFailure('NOT_FOUND', `no record for key ${key}`);
    const provider = record === undefined ? undefined : rs.providerKeyOf(record);
    if (json) {
      printJson(io, { record: record ?? null, providerKey: provider ?? null, audit, overrides });
      return ExitCode.Ok;
    }
    const now = Date.now();
    io.stdout.write(
      record === undefined
        ? `key ${key}: no record (deleted by gc); audit trail kept\n`
        : describe(record, provider, now, colour),
    );
    io.stdout.write('\naudit trail\n');
    io.stdout.write(auditTable(audit, colour));
    if (overrides.length > 0) {
      io.stdout.write('\noverride requests\n');
      const current = new Map(record === undefined ? [] : [[record.key, record.fingerprint]]);
      io.stdout.write(describeOverrides(overrides, current, colour));
    }
    return ExitCode.Ok;
  },
};

function describe(
  record: IdempotencyRecord,
  provider: ReturnType<RetrySafe['providerKeyOf']> | undefined,
  now: number,
  colour: boolean,
): string {
  const rows: [string, Cell | string][] = [
    ['key', record.key],
    ['operation', record.operation],
    ['state', stateLabel(record, now)],
    ['attempt', String(record.attempt)],
    ['generation', String(record.generation)],
    ['fingerprint', record.fingerprint],
    ['created', isoTime(record.createdAt)],
    ['updated', `${isoTime(record.updatedAt)} (${formatDuration(Math.max(0, now - record.updatedAt))} ago)`],
  ];
  if (record.leaseUntil !== null) rows.push(['lease until', isoTime(record.leaseUntil)]);
  if (record.reason !== null) rows.push(['reason', record.reason]);
  if (provider !== undefined) {
    const how =
      provider.derivedBy === 'operation'
        ? ''
        : ' (default derivation: declare the operation in --config if it derives its own)';
    rows.push(['provider key', `${provider.providerKey}${how}`]);
  }
  rows.push(['provider ref', record.providerRef ?? '(none recorded)']);
  // The request as stored: what was sent, and what a lookup or re-send works from.
  rows.push(['request', record.request ?? '(not stored: storeRequest false, or compacted)']);
  if (record.keyFields !== null) rows.push(['key fields', record.keyFields]);
  if (record.result !== null) rows.push(['result', record.result]);
  if (record.overrideFingerprint !== null) {
    const applies = record.overrideAttempt === record.attempt;
    rows.push([
      'approved override',
      applies
        ? `${record.overrideFingerprint} (approved at attempt ${record.attempt})`
        : { text: `${record.overrideFingerprint} (lapsed: approved at another attempt)`, style: 'yellow' },
    ]);
  }
  rows.push(['expires', isoTime(record.expiresAt)], ['tombstone until', isoTime(record.tombstoneUntil)]);
  return fields(rows, colour);
}

function auditTable(audit: readonly AuditEntry[], colour: boolean): string {
  if (audit.length === 0) return '(none)\n';
  return table(
    ['ID', 'AT', 'EVENT', 'ATTEMPT', 'ACTOR', 'DETAIL'],
    audit.map((entry) => [
      String(entry.id),
      isoTime(entry.at),
      { text: entry.event, style: entry.event === 'late_write' ? 'red' : undefined },
      String(entry.attempt),
      entry.actor,
      entry.detail,
    ]),
    colour,
  );
}

/** Every override request as its own block: both fingerprints and the proposed payload do not fit a table. */
export function describeOverrides(
  overrides: readonly OverrideRequest[],
  current: ReadonlyMap<string, string>,
  colour: boolean,
): string {
  return overrides
    .map((override) => describeOverride(override, current.get(override.key) ?? null, colour))
    .join('\n');
}

/** The current fingerprint of every key the overrides are for (keys without a record are left out). */
export async function currentFingerprints(
  rs: RetrySafe,
  overrides: readonly OverrideRequest[],
): Promise<Map<string, string>> {
  const keys = [...new Set(overrides.map((override) => override.key))];
  const records = await Promise.all(keys.map((key) => rs.get(key)));
  return new Map(
    records.flatMap((record) => (record === undefined ? [] : [[record.key, record.fingerprint]])),
  );
}
