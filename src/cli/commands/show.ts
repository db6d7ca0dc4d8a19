import type { AuditEntry, IdempotencyRecord, OverrideRequest } from '../../index.ts';
import { CommandFailure, onePositional } from '../args.ts';
import type { Command } from '../command.ts';
import { formatDuration } from '../duration.ts';
import { ExitCode } from '../exit-codes.ts';
import { fields, isoTime, printJson, table, type Cell } from '../output.ts';
import { stateLabel } from '../records.ts';

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
    if (json) {
      printJson(io, { record: record ?? null, audit, overrides });
      return ExitCode.Ok;
    }
    const now = Date.now();
    io.stdout.write(
      record === undefined
        ? `key ${key}: no record (deleted by gc); audit trail kept\n`
        : describe(record, now, colour),
    );
    io.stdout.write('\naudit trail\n');
    io.stdout.write(auditTable(audit, colour));
    if (overrides.length > 0) {
      io.stdout.write('\noverride requests\n');
      io.stdout.write(overridesTable(overrides, colour));
    }
    return ExitCode.Ok;
  },
};

function describe(record: IdempotencyRecord, now: number, colour: boolean): string {
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
  if (record.providerRef !== null) rows.push(['provider ref', record.providerRef]);
  if (record.result !== null) rows.push(['result', record.result]);
  if (record.overrideFingerprint !== null) rows.push(['approved override', record.overrideFingerprint]);
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

export function overridesTable(overrides: readonly OverrideRequest[], colour: boolean): string {
  return table(
    ['ID', 'KEY', 'STATUS', 'GEN', 'REQUESTED BY', 'APPROVED BY', 'REQUESTED', 'REASON'],
    overrides.map((override) => [
      override.id,
      override.key,
      { text: override.status, style: override.status === 'pending' ? 'yellow' : undefined },
      String(override.generation),
      override.requestedBy,
      override.approvedBy ?? '-',
      isoTime(override.requestedAt),
      override.reason,
    ]),
    colour,
  );
}
