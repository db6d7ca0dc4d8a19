import { describe, expect, it } from 'vitest';
import { decide, isPastTombstone, reservedRecord, type Decision } from './decide.ts';
import { RecordState, type IdempotencyRecord } from './record.ts';

const A = 'sha256:aaaa';
const B = 'sha256:bbbb';
const C = 'sha256:cccc';
/** Store time of most rows; the settled records below expire at 20 000 and their tombstones at 30 000. */
const NOW = 10_000;
const EXPIRES = 20_000;
const TOMBSTONE_UNTIL = 30_000;

const base: IdempotencyRecord = {
  key: 'rs1:test:op@1:-:0123',
  operation: 'op@1',
  fingerprint: A,
  state: RecordState.Succeeded,
  attempt: 3,
  generation: 2,
  leaseOwner: null,
  leaseUntil: null,
  result: '{"ok":true}',
  request: null,
  keyFields: null,
  providerRef: 'ch_1',
  reason: null,
  overrideFingerprint: null,
  overrideAttempt: null,
  createdAt: 1_000,
  updatedAt: 2_000,
  expiresAt: EXPIRES,
  tombstoneUntil: TOMBSTONE_UNTIL,
};

function settled(
  state: 'succeeded' | 'failed' | 'released',
  extra: Partial<IdempotencyRecord> = {},
): IdempotencyRecord {
  return { ...base, state, ...extra };
}
function inFlight(leaseUntil: number | null, extra: Partial<IdempotencyRecord> = {}): IdempotencyRecord {
  const open = { result: null, providerRef: null, expiresAt: null, tombstoneUntil: null };
  return { ...base, ...open, state: RecordState.InFlight, leaseOwner: 'token-3', leaseUntil, ...extra };
}
function unknown(extra: Partial<IdempotencyRecord> = {}): IdempotencyRecord {
  const open = { result: null, expiresAt: null, tombstoneUntil: null, reason: 'timeout after send' };
  return { ...base, ...open, state: RecordState.Unknown, ...extra };
}

function reserve(attempt: number, generation: number, fresh: boolean, override = false): Decision {
  return { kind: 'reserve', attempt, generation, fresh, override };
}

interface Row {
  readonly name: string;
  readonly record: IdempotencyRecord | undefined;
  readonly now: number;
  readonly retryFailed?: boolean;
  /** Decision for the stored fingerprint (A). */
  readonly same: (record: IdempotencyRecord) => Decision;
  /** Decision for another fingerprint (B). */
  readonly different: (record: IdempotencyRecord) => Decision;
}

const mismatch = (record: IdempotencyRecord): Decision => ({ kind: 'mismatch', record });
const replay = (record: IdempotencyRecord): Decision => ({ kind: 'replay', record });
const tombstone = (record: IdempotencyRecord): Decision => ({ kind: 'tombstone', record });
const reconcile = (record: IdempotencyRecord): Decision => ({ kind: 'reconcile', record });

// One row per cell of the conflict table in SEMANTICS.md, plus the boundary instants.
const table: readonly Row[] = [
  {
    name: 'none',
    record: undefined,
    now: NOW,
    same: () => reserve(1, 1, true),
    different: () => reserve(1, 1, true),
  },
  ...(['succeeded', 'failed', 'released'] as const).map((state): Row => ({
    // Past the tombstone the key means a new logical write: fresh, but the attempt number keeps counting.
    name: `${state}, past its tombstone`,
    record: settled(state),
    now: TOMBSTONE_UNTIL + 1,
    same: () => reserve(4, 2, true),
    different: () => reserve(4, 2, true),
  })),
  {
    name: 'succeeded, now == tombstoneUntil (boundary: past)',
    record: settled('succeeded'),
    now: TOMBSTONE_UNTIL,
    same: () => reserve(4, 2, true),
    different: () => reserve(4, 2, true),
  },
  {
    name: 'succeeded tombstone, 1 ms before tombstoneUntil',
    record: settled('succeeded'),
    now: TOMBSTONE_UNTIL - 1,
    same: tombstone,
    different: mismatch,
  },
  {
    name: 'succeeded tombstone (after expiresAt, before tombstoneUntil)',
    record: settled('succeeded'),
    now: 25_000,
    same: tombstone,
    different: mismatch,
  },
  {
    name: 'failed tombstone, even with retryFailed',
    record: settled('failed'),
    now: 25_000,
    retryFailed: true,
    same: tombstone,
    different: mismatch,
  },
  {
    name: 'succeeded, now == expiresAt (boundary: tombstone)',
    record: settled('succeeded'),
    now: EXPIRES,
    same: tombstone,
    different: mismatch,
  },
  {
    name: 'succeeded, 1 ms before expiresAt',
    record: settled('succeeded'),
    now: EXPIRES - 1,
    same: replay,
    different: mismatch,
  },
  {
    name: 'in_flight, lease live',
    record: inFlight(NOW + 1),
    now: NOW,
    same: (record) => ({ kind: 'wait', record, leaseUntil: NOW + 1 }),
    different: mismatch,
  },
  {
    name: 'in_flight, now == leaseUntil (boundary: lapsed)',
    record: inFlight(NOW),
    now: NOW,
    same: reconcile,
    different: mismatch,
  },
  {
    name: 'in_flight, lease lapsed',
    record: inFlight(NOW - 5_000),
    now: NOW,
    same: reconcile,
    different: mismatch,
  },
  {
    name: 'in_flight without a lease end',
    record: inFlight(null),
    now: NOW,
    same: reconcile,
    different: mismatch,
  },
  { name: 'succeeded', record: settled('succeeded'), now: NOW, same: replay, different: mismatch },
  {
    name: 'succeeded, retryFailed does not apply',
    record: settled('succeeded'),
    now: NOW,
    retryFailed: true,
    same: replay,
    different: mismatch,
  },
  {
    name: 'failed (replay the failure)',
    record: settled('failed'),
    now: NOW,
    same: replay,
    different: mismatch,
  },
  {
    name: 'failed with retryFailed (new attempt)',
    record: settled('failed'),
    now: NOW,
    retryFailed: true,
    same: () => reserve(4, 2, false),
    different: mismatch,
  },
  { name: 'unknown', record: unknown(), now: NOW, same: reconcile, different: mismatch },
  {
    name: 'unknown with retryFailed',
    record: unknown(),
    now: NOW,
    retryFailed: true,
    same: reconcile,
    different: mismatch,
  },
  {
    name: 'released',
    record: settled('released'),
    now: NOW,
    same: () => reserve(4, 2, false),
    different: mismatch,
  },
  {
    name: 'released, after expiresAt',
    record: settled('released'),
    now: 25_000,
    same: () => reserve(4, 2, false),
    different: mismatch,
  },
];

describe('decide: conflict table', () => {
  describe.each(table.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    const existing = row.record ?? base;
    it('same fingerprint', () => {
      expect(decide(row.record, { fingerprint: A, retryFailed: row.retryFailed ?? false }, row.now)).toEqual(
        row.same(existing),
      );
    });
    it('different fingerprint', () => {
      expect(decide(row.record, { fingerprint: B, retryFailed: row.retryFailed ?? false }, row.now)).toEqual(
        row.different(existing),
      );
    });
  });

  it('returns the stored record itself, not a copy', () => {
    const record = settled('succeeded');
    const decision = decide(record, { fingerprint: A, retryFailed: false }, NOW);
    expect(decision.kind === 'replay' && decision.record).toBe(record);
  });
});

describe('decide: approved overrides', () => {
  const approved = { overrideFingerprint: B, overrideAttempt: 3 };
  const incoming = { fingerprint: B, retryFailed: false };

  it.each(['succeeded', 'failed'] as const)(
    'lets the approved fingerprint through on %s: new generation',
    (state) => {
      expect(decide(settled(state, approved), incoming, NOW)).toEqual(reserve(4, 3, true, true));
      expect(decide(settled(state, approved), { ...incoming, retryFailed: true }, NOW)).toEqual(
        reserve(4, 3, true, true),
      );
    },
  );

  it('refuses any other fingerprint', () => {
    const record = settled('succeeded', approved);
    expect(decide(record, { fingerprint: C, retryFailed: false }, NOW)).toEqual(mismatch(record));
  });

  it('still replays the stored fingerprint while an override is pending', () => {
    const record = settled('succeeded', approved);
    expect(decide(record, { fingerprint: A, retryFailed: false }, NOW)).toEqual(replay(record));
  });

  it.each<[string, IdempotencyRecord, number]>([
    ['in_flight, lease live', inFlight(NOW + 1, approved), NOW],
    ['in_flight, lease lapsed', inFlight(NOW - 1, approved), NOW],
    ['unknown', unknown(approved), NOW],
    ['released', settled('released', approved), NOW],
    ['a succeeded tombstone', settled('succeeded', approved), 25_000],
    ['a failed tombstone at expiresAt', settled('failed', approved), EXPIRES],
  ])('does not apply on %s', (_name, record, now) => {
    expect(decide(record, incoming, now)).toEqual(mismatch(record));
  });

  it.each(['succeeded', 'failed'] as const)(
    'lapses on %s once the record moved past the attempt it was approved at',
    (state) => {
      // Approved against attempt 2 (a failed refund); a retry then reached attempt 3 and settled.
      const record = settled(state, { overrideFingerprint: B, overrideAttempt: 2 });
      expect(decide(record, incoming, NOW)).toEqual(mismatch(record));
    },
  );

  it('past the tombstone the key is a new logical write, not an override', () => {
    expect(decide(settled('succeeded', approved), incoming, TOMBSTONE_UNTIL)).toEqual(reserve(4, 2, true));
  });
});

describe('isPastTombstone', () => {
  it('is true from tombstoneUntil on, and never without one', () => {
    expect(isPastTombstone(settled('succeeded'), TOMBSTONE_UNTIL - 1)).toBe(false);
    expect(isPastTombstone(settled('succeeded'), TOMBSTONE_UNTIL)).toBe(true);
    expect(isPastTombstone(unknown(), Number.MAX_SAFE_INTEGER)).toBe(false);
  });
});

describe('reservedRecord', () => {
  const input = {
    key: base.key,
    operation: 'op@1',
    fingerprint: A,
    token: 'token-new',
    leaseMs: 30_000,
    request: '{"amount":1}',
    keyFields: null,
  };

  it('builds the first attempt of a new key', () => {
    const decision = decide(undefined, { fingerprint: A, retryFailed: false }, NOW);
    if (decision.kind !== 'reserve') throw new Error(`expected reserve, got ${decision.kind}`);
    expect(reservedRecord(undefined, decision, input, NOW)).toEqual({
      key: base.key,
      operation: 'op@1',
      fingerprint: A,
      state: 'in_flight',
      attempt: 1,
      generation: 1,
      leaseOwner: 'token-new',
      leaseUntil: NOW + 30_000,
      result: null,
      request: '{"amount":1}',
      keyFields: null,
      providerRef: null,
      reason: null,
      overrideFingerprint: null,
      overrideAttempt: null,
      createdAt: NOW,
      updatedAt: NOW,
      expiresAt: null,
      tombstoneUntil: null,
    } satisfies IdempotencyRecord);
  });

  it('continues a released key: keeps createdAt, clears the old outcome and any approval', () => {
    const previous = settled('released', {
      reason: 'connection refused',
      overrideFingerprint: C,
      overrideAttempt: 3,
    });
    const decision = decide(previous, { fingerprint: A, retryFailed: false }, NOW);
    if (decision.kind !== 'reserve') throw new Error(`expected reserve, got ${decision.kind}`);
    const next = reservedRecord(previous, decision, input, NOW);
    expect(next).toMatchObject({
      state: 'in_flight',
      attempt: 4,
      generation: 2,
      createdAt: 1_000,
      updatedAt: NOW,
    });
    expect(next).toMatchObject({ overrideFingerprint: null, overrideAttempt: null, result: null });
    expect(next).toMatchObject({ providerRef: null, reason: null });
    expect(next).toMatchObject({ expiresAt: null, tombstoneUntil: null, leaseOwner: 'token-new' });
  });

  it('retries a failed key in the same generation', () => {
    const previous = settled('failed', {
      reason: 'card declined',
      overrideFingerprint: B,
      overrideAttempt: 3,
    });
    const decision = decide(previous, { fingerprint: A, retryFailed: true }, NOW);
    if (decision.kind !== 'reserve') throw new Error(`expected reserve, got ${decision.kind}`);
    const next = reservedRecord(previous, decision, input, NOW);
    expect(next).toMatchObject({ attempt: 4, generation: 2, createdAt: 1_000, reason: null });
    // The approval was for the failed attempt 3; the retry moved the record on, so it lapses.
    expect(next).toMatchObject({ overrideFingerprint: null, overrideAttempt: null });
  });

  it('starts an override over: new fingerprint and generation, override used up, createdAt reset', () => {
    const previous = settled('succeeded', { overrideFingerprint: B, overrideAttempt: 3 });
    const decision = decide(previous, { fingerprint: B, retryFailed: false }, NOW);
    if (decision.kind !== 'reserve') throw new Error(`expected reserve, got ${decision.kind}`);
    expect(reservedRecord(previous, decision, { ...input, fingerprint: B }, NOW)).toMatchObject({
      fingerprint: B,
      attempt: 4,
      generation: 3,
      overrideFingerprint: null,
      createdAt: NOW,
      result: null,
      providerRef: null,
    });
  });

  it('starts over past the tombstone but keeps counting attempts', () => {
    const previous = settled('succeeded', { overrideFingerprint: B });
    const decision = decide(previous, { fingerprint: C, retryFailed: false }, TOMBSTONE_UNTIL);
    if (decision.kind !== 'reserve') throw new Error(`expected reserve, got ${decision.kind}`);
    expect(reservedRecord(previous, decision, { ...input, fingerprint: C }, TOMBSTONE_UNTIL)).toMatchObject({
      fingerprint: C,
      attempt: 4,
      generation: 2,
      overrideFingerprint: null,
      createdAt: TOMBSTONE_UNTIL,
      leaseUntil: TOMBSTONE_UNTIL + 30_000,
    });
  });
});

describe('decide: only settled records expire', () => {
  // Regression: isPastTombstone once ignored the state, so an in_flight or unknown record that carried a stale
  // tombstoneUntil (a store bug) was treated as free and re-executed.
  it('never frees an in_flight or unknown record, whatever its tombstoneUntil says', () => {
    const staleLive = inFlight(NOW + 1, { tombstoneUntil: 1 });
    const staleLapsed = inFlight(NOW - 1, { tombstoneUntil: 1 });
    const staleUnknown = unknown({ tombstoneUntil: 1 });
    expect(isPastTombstone(staleLive, NOW)).toBe(false);
    expect(decide(staleLive, { fingerprint: A, retryFailed: false }, NOW).kind).toBe('wait');
    expect(decide(staleLapsed, { fingerprint: A, retryFailed: false }, NOW).kind).toBe('reconcile');
    expect(decide(staleUnknown, { fingerprint: A, retryFailed: false }, NOW).kind).toBe('reconcile');
    expect(decide(staleUnknown, { fingerprint: B, retryFailed: false }, NOW).kind).toBe('mismatch');
  });
});
