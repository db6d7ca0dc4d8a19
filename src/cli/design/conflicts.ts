import { decide, type Decision, type IdempotencyRecord, type OperationPolicy } from '../../index.ts';
import { formatDuration } from '../duration.ts';

/** A fixed store time: the table is computed, not measured, so the document is the same every run. */
const NOW = 1_700_000_000_000;
const SAME = 'sha256:same';
const OTHER = 'sha256:other';

function record(overrides: Partial<IdempotencyRecord>): IdempotencyRecord {
  return {
    key: 'rs1:design:row@1:-:0',
    operation: 'row@1',
    fingerprint: SAME,
    state: 'succeeded',
    attempt: 3,
    generation: 1,
    leaseOwner: null,
    leaseUntil: null,
    result: '{"value":null}',
    request: null,
    keyFields: null,
    providerRef: null,
    reason: null,
    overrideFingerprint: null,
    overrideAttempt: null,
    createdAt: NOW - 60_000,
    updatedAt: NOW - 60_000,
    expiresAt: NOW + 60_000,
    tombstoneUntil: NOW + 120_000,
    ...overrides,
  };
}

interface Row {
  readonly existing: string;
  readonly record: IdempotencyRecord | undefined;
}

const ROWS: readonly Row[] = [
  { existing: 'none, or past its tombstone', record: undefined },
  {
    existing: '`released` (provably not performed)',
    record: record({ state: 'released', result: null, expiresAt: null, tombstoneUntil: null }),
  },
  {
    existing: '`in_flight`, lease live',
    record: record({
      state: 'in_flight',
      leaseOwner: 't',
      leaseUntil: NOW + 10_000,
      result: null,
      expiresAt: null,
      tombstoneUntil: null,
    }),
  },
  {
    existing: '`in_flight`, lease lapsed',
    record: record({
      state: 'in_flight',
      leaseOwner: 't',
      leaseUntil: NOW - 10_000,
      result: null,
      expiresAt: null,
      tombstoneUntil: null,
    }),
  },
  {
    existing: '`unknown`',
    record: record({ state: 'unknown', result: null, expiresAt: null, tombstoneUntil: null }),
  },
  { existing: '`succeeded`', record: record({ state: 'succeeded' }) },
  { existing: '`failed`', record: record({ state: 'failed' }) },
  {
    existing: 'tombstone (settled, past its TTL)',
    record: record({ state: 'succeeded', result: null, expiresAt: NOW - 1 }),
  },
];

/**
 * The conflict-resolution table for one operation: every cell is what `decide` (the function the
 * executor and every store's reserve step follow) answers, put in words with the operation's numbers.
 */
export function conflictTable(policy: OperationPolicy, hasLookup: boolean): string {
  const lines = [
    '| existing record | same payload | different payload | different payload, approved override |',
    '| --- | --- | --- | --- |',
  ];
  for (const row of ROWS) {
    const same = decide(row.record, { fingerprint: SAME, retryFailed: policy.retryFailed }, NOW);
    const other = decide(row.record, { fingerprint: OTHER, retryFailed: policy.retryFailed }, NOW);
    const approved =
      row.record === undefined
        ? other
        : decide(
            { ...row.record, overrideFingerprint: OTHER, overrideAttempt: row.record.attempt },
            { fingerprint: OTHER, retryFailed: policy.retryFailed },
            NOW,
          );
    lines.push(
      `| ${row.existing} | ${words(same, policy, hasLookup)} | ${words(other, policy, hasLookup)} | ${words(approved, policy, hasLookup)} |`,
    );
  }
  return lines.join('\n');
}

function words(decision: Decision, policy: OperationPolicy, hasLookup: boolean): string {
  switch (decision.kind) {
    case 'reserve':
      if (decision.override)
        return 'reserve a new generation (new provider key), call; the override is used up';
      return decision.fresh ? 'reserve (attempt 1 of a new record), call' : 'reserve the next attempt, call';
    case 'replay':
      return decision.record.state === 'failed'
        ? 'replay the stored failure (`OperationFailedError`, `replayed`)'
        : 'return the stored result (`replayed: true`)';
    case 'tombstone':
      return 'replay the summary (`onTombstone`, else `TombstoneReplayError`)';
    case 'wait':
      return policy.waitMs === 0
        ? '`InFlightError` at once (`waitMs` 0)'
        : `wait up to ${formatDuration(policy.waitMs)} for the holder, then \`WaitTimeoutError\``;
    case 'reconcile':
      return reconcileWords(decision.record.state === 'in_flight', policy, hasLookup);
    case 'mismatch':
      return 'reject: `PayloadMismatchError`, nothing sent';
  }
}

function reconcileWords(lapsed: boolean, policy: OperationPolicy, hasLookup: boolean): string {
  const steps: string[] = [];
  if (lapsed) steps.push('mark `unknown`');
  if (policy.resendWithinMs > 0)
    steps.push(
      `re-send under the same provider key within ${formatDuration(policy.resendWithinMs)} of the first request`,
    );
  if (hasLookup) {
    steps.push(
      policy.lookupSettleMs > 0
        ? `look up (trust "absent" only ${formatDuration(policy.lookupSettleMs)} after the record became unknown)`
        : 'look up',
    );
  }
  steps.push('else `OutcomeUnknownError` until a person resolves it');
  return steps.join('; ');
}
