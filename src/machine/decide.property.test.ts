import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, isPastTombstone, reservedRecord, type Decision } from './decide.ts';
import { RecordState, type IdempotencyRecord } from './record.ts';

const FINGERPRINTS = ['sha256:a', 'sha256:b', 'sha256:c'] as const;
const fingerprintArb = fc.constantFrom(...FINGERPRINTS);
const time = fc.integer({ min: 0, max: 2_000 });

const common = {
  key: fc.constant('rs1:prop:op@1:-:00'),
  operation: fc.constant('op@1'),
  fingerprint: fingerprintArb,
  attempt: fc.integer({ min: 1, max: 20 }),
  generation: fc.integer({ min: 1, max: 5 }),
  overrideFingerprint: fc.option(fingerprintArb),
  overrideAttempt: fc.option(fc.integer({ min: 1, max: 20 })),
  createdAt: fc.constant(0),
  updatedAt: fc.constant(0),
};

/** Nothing held, nothing stored, no expiry: each state below fills in what it has. */
const blank = {
  leaseOwner: null,
  leaseUntil: null,
  result: null,
  request: null,
  keyFields: null,
  providerRef: null,
  reason: null,
  expiresAt: null,
  tombstoneUntil: null,
} as const;

/** Records that keep the structural rules: only settled records expire, only in_flight holds a lease. */
const recordArb: fc.Arbitrary<IdempotencyRecord> = fc.oneof(
  fc
    .record({
      ...common,
      state: fc.constantFrom(RecordState.Succeeded, RecordState.Failed, RecordState.Released),
      expiresAt: time,
      tombstoneFor: fc.integer({ min: 0, max: 500 }),
    })
    .map(({ tombstoneFor, ...rest }) => ({
      ...blank,
      ...rest,
      tombstoneUntil: rest.expiresAt + tombstoneFor,
    })),
  fc
    .record({
      ...common,
      state: fc.constant(RecordState.InFlight),
      leaseUntil: fc.option(time, { freq: 10 }),
    })
    .map((rest) => ({ ...blank, ...rest, leaseOwner: 'holder' })),
  fc
    .record({ ...common, state: fc.constant(RecordState.Unknown) })
    .map((rest) => ({ ...blank, ...rest, reason: 'crash' })),
);
const incomingArb = fc.record({ fingerprint: fingerprintArb, retryFailed: fc.boolean() });
const maybeRecord = fc.option(recordArb, { freq: 8 }).map((record) => record ?? undefined);

function check(
  predicate: (record: IdempotencyRecord | undefined, decision: Decision, now: number) => void,
): void {
  fc.assert(
    fc.property(maybeRecord, incomingArb, time, (record, incoming, now) => {
      predicate(record, decide(record, incoming, now), now);
    }),
    { numRuns: 300 },
  );
}

describe('decide: properties over arbitrary records', () => {
  it('never reserves while a live lease exists', () => {
    check((record, decision, now) => {
      if (record?.state === 'in_flight' && record.leaseUntil !== null && now < record.leaseUntil) {
        expect(['wait', 'mismatch']).toContain(decision.kind);
      }
    });
  });

  it('never reserves over an in_flight record, live or lapsed: a lapsed lease means reconcile', () => {
    check((record, decision) => {
      if (record?.state === 'in_flight') expect(['wait', 'reconcile', 'mismatch']).toContain(decision.kind);
    });
  });

  it('never reserves while the outcome is unknown', () => {
    check((record, decision) => {
      if (record?.state === 'unknown') expect(['reconcile', 'mismatch']).toContain(decision.kind);
    });
  });

  it('reserves attempt record.attempt + 1 (or 1), in the same generation unless it is an override', () => {
    check((record, decision) => {
      if (decision.kind !== 'reserve') return;
      expect(decision.attempt).toBe((record?.attempt ?? 0) + 1);
      expect(decision.generation).toBe((record?.generation ?? 1) + (decision.override ? 1 : 0));
      if (decision.override) expect(decision.fresh).toBe(true);
    });
  });

  it('never replays, waits, reconciles or reserves for a different fingerprint, except an approved override', () => {
    fc.assert(
      fc.property(recordArb, incomingArb, time, (record, incoming, now) => {
        fc.pre(incoming.fingerprint !== record.fingerprint);
        const decision = decide(record, incoming, now);
        if (isPastTombstone(record, now)) {
          // The old write is forgotten: a new logical write, not an exception to the mismatch rule.
          expect(decision).toMatchObject({ kind: 'reserve', fresh: true, override: false });
          return;
        }
        if (decision.kind === 'mismatch') return;
        expect(decision).toMatchObject({ kind: 'reserve', override: true });
        expect(incoming.fingerprint).toBe(record.overrideFingerprint);
        expect(record.overrideAttempt).toBe(record.attempt);
        expect(['succeeded', 'failed']).toContain(record.state);
        expect(record.expiresAt !== null && now < record.expiresAt).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('uses an approved override once per generation: generation + 1, fresh, only before expiry', () => {
    fc.assert(
      fc.property(recordArb, fingerprintArb, fc.boolean(), time, (stored, approved, retryFailed, now) => {
        fc.pre(approved !== stored.fingerprint);
        const record = { ...stored, overrideFingerprint: approved, overrideAttempt: stored.attempt };
        const decision = decide(record, { fingerprint: approved, retryFailed }, now);
        const open = record.expiresAt !== null && now < record.expiresAt;
        const overridable = (record.state === 'succeeded' || record.state === 'failed') && open;
        if (isPastTombstone(record, now))
          expect(decision).toMatchObject({ kind: 'reserve', override: false });
        else if (overridable) {
          expect(decision).toEqual({
            kind: 'reserve',
            attempt: record.attempt + 1,
            generation: record.generation + 1,
            fresh: true,
            override: true,
          });
        } else expect(decision.kind).toBe('mismatch');
      }),
      { numRuns: 300 },
    );
  });

  it('replays and shows tombstones only for settled outcomes of the same fingerprint', () => {
    check((record, decision, now) => {
      if (decision.kind !== 'replay' && decision.kind !== 'tombstone') return;
      expect(decision.record).toBe(record);
      expect(['succeeded', 'failed']).toContain(decision.record.state);
      const expired = decision.record.expiresAt !== null && now >= decision.record.expiresAt;
      expect(expired).toBe(decision.kind === 'tombstone');
    });
  });

  it('waits only on the live lease of the same payload, until its end', () => {
    check((record, decision, now) => {
      if (decision.kind !== 'wait') return;
      expect(decision.record).toBe(record);
      expect(decision.record.state).toBe('in_flight');
      expect(decision.leaseUntil).toBe(decision.record.leaseUntil);
      expect(now).toBeLessThan(decision.leaseUntil);
    });
  });
});

// ---- Model: one key, a store that applies decide/reservedRecord, holders that settle, a reconciler. ----

interface Holder {
  readonly token: string;
  readonly attempt: number;
  leaseUntil: number;
  /** Settled, or told its lease is lost: it makes no further downstream call. */
  done: boolean;
}

// Ticks are short next to TTLs and tombstones so that runs land in every window (live, expired, past tombstone).
const tickMs = fc.integer({ min: 0, max: 250 });
const ms = fc.integer({ min: 50, max: 600 });
const leaseMs = fc.integer({ min: 1, max: 300 });
const eventArb = fc.oneof(
  { arbitrary: fc.record({ type: fc.constant('tick' as const), ms: tickMs }), weight: 3 },
  {
    arbitrary: fc.record({
      type: fc.constant('call' as const),
      fingerprint: fingerprintArb,
      retryFailed: fc.boolean(),
      leaseMs,
    }),
    weight: 4,
  },
  fc.record({ type: fc.constant('heartbeat' as const), holder: fc.nat({ max: 3 }), leaseMs }),
  fc.record({
    type: fc.constant('settle' as const),
    holder: fc.nat({ max: 3 }),
    state: fc.constantFrom('succeeded', 'failed', 'released', 'unknown'),
    ttlMs: ms,
    tombstoneMs: ms,
  }),
  fc.constant({ type: 'markUnknown' as const }),
  fc.record({ type: fc.constant('reclaim' as const), leaseMs }),
  fc.record({
    type: fc.constant('resolve' as const),
    state: fc.constantFrom('succeeded', 'failed', 'released'),
    ttlMs: ms,
  }),
  { arbitrary: fc.record({ type: fc.constant('approve' as const), fingerprint: fingerprintArb }), weight: 3 },
);

type Event = typeof eventArb extends fc.Arbitrary<infer E> ? E : never;

class KeyModel {
  now = 1_000;
  record: IdempotencyRecord | undefined;
  readonly holders: Holder[] = [];
  /** What the last `call` decided, for the coverage count. */
  lastDecision: Decision | undefined;
  /** Holder writes refused by the fencing check (late or stale writers). */
  refused = 0;
  private tokens = 0;

  apply(event: Event): void {
    const record = this.record;
    this.lastDecision = undefined;
    switch (event.type) {
      case 'tick':
        this.now += event.ms;
        return;
      case 'call': {
        const decision = decide(
          record,
          { fingerprint: event.fingerprint, retryFailed: event.retryFailed },
          this.now,
        );
        this.lastDecision = decision;
        if (decision.kind === 'reserve') this.claim(decision, event.fingerprint, event.leaseMs);
        return;
      }
      case 'heartbeat': {
        const holder = this.holder(event.holder);
        if (holder === undefined || holder.done) return;
        if (this.holds(holder) && record?.leaseUntil != null && this.now < record.leaseUntil) {
          holder.leaseUntil = this.now + event.leaseMs;
          this.record = { ...record, leaseUntil: holder.leaseUntil, updatedAt: this.now };
        } else {
          holder.done = true; // refused: the lease is lost, the holder stops
          this.refused++;
        }
        return;
      }
      case 'settle': {
        const holder = this.holder(event.holder);
        if (holder === undefined || holder.done) return;
        holder.done = true;
        if (this.holds(holder)) this.settle(event.state, event.ttlMs, event.tombstoneMs);
        else this.refused++;
        return;
      }
      case 'markUnknown':
        if (record?.state === 'in_flight' && this.lapsed(record)) this.settle('unknown', 0, 0);
        return;
      case 'reclaim':
        if (record !== undefined && this.takeable(record)) {
          const next = { attempt: record.attempt + 1, generation: record.generation };
          this.claim(
            { kind: 'reserve', ...next, fresh: false, override: false },
            record.fingerprint,
            event.leaseMs,
          );
        }
        return;
      case 'resolve':
        if (record !== undefined && this.takeable(record)) this.settle(event.state, event.ttlMs, event.ttlMs);
        return;
      case 'approve':
        if (
          (record?.state === 'succeeded' || record?.state === 'failed') &&
          record.fingerprint !== event.fingerprint &&
          record.expiresAt !== null &&
          this.now < record.expiresAt
        ) {
          this.record = {
            ...record,
            overrideFingerprint: event.fingerprint,
            overrideAttempt: record.attempt,
          };
        }
        return;
    }
  }

  private claim(decision: Extract<Decision, { kind: 'reserve' }>, fingerprint: string, lease: number): void {
    const token = `t${++this.tokens}`;
    const input = { key: 'rs1:model:op@1:-:00', operation: 'op@1', fingerprint, token, leaseMs: lease };
    this.record = reservedRecord(this.record, decision, input, this.now);
    this.holders.push({ token, attempt: decision.attempt, leaseUntil: this.now + lease, done: false });
  }

  /** Holder `back` places from the most recent one, so the current holder acts most often. */
  private holder(back: number): Holder | undefined {
    return this.holders[this.holders.length - 1 - (back % Math.max(1, this.holders.length))];
  }

  /** The fencing check every holder write goes through. */
  private holds(holder: Holder): boolean {
    const record = this.record;
    return (
      record?.state === 'in_flight' && record.attempt === holder.attempt && record.leaseOwner === holder.token
    );
  }

  private lapsed(record: IdempotencyRecord): boolean {
    return record.leaseUntil === null || this.now >= record.leaseUntil;
  }

  /** What a reconciler may reclaim or resolve: unknown, or in flight with a lapsed lease. */
  private takeable(record: IdempotencyRecord): boolean {
    return record.state === 'unknown' || (record.state === 'in_flight' && this.lapsed(record));
  }

  private settle(
    state: Exclude<IdempotencyRecord['state'], 'in_flight'>,
    ttlMs: number,
    tombstoneMs: number,
  ): void {
    if (this.record === undefined) return;
    const expiresAt = state === 'unknown' ? null : this.now + ttlMs;
    this.record = {
      ...this.record,
      state,
      leaseOwner: null,
      leaseUntil: null,
      updatedAt: this.now,
      expiresAt,
      tombstoneUntil: expiresAt === null ? null : expiresAt + tombstoneMs,
    };
  }
}

/** What must hold after every step: one live holder at most, and it is the record's owner; no expiry while open. */
function expectInvariants(model: KeyModel, record: IdempotencyRecord): void {
  const live = model.holders.filter((holder) => !holder.done && model.now < holder.leaseUntil);
  expect(live.length).toBeLessThanOrEqual(1);
  for (const { attempt, token, leaseUntil } of live) {
    expect(record).toMatchObject({ state: 'in_flight', attempt, leaseOwner: token, leaseUntil });
  }
  // Fencing tokens are never reused.
  expect(new Set(model.holders.map((holder) => holder.attempt)).size).toBe(model.holders.length);
  if (record.state === 'in_flight' || record.state === 'unknown') {
    expect(record.expiresAt).toBeNull();
    expect(record.tombstoneUntil).toBeNull();
  }
  if (record.state === 'in_flight') expect(record.leaseOwner).not.toBeNull();
}

describe('decide: model of one key under random calls, settlements, lapses and reclaims', () => {
  it('keeps attempt monotonic, at most one live holder, and no expiry on in_flight or unknown', () => {
    // Which (state before, call decision) cells the runs reached, so the model cannot pass vacuously.
    const reached = new Set<string>();
    let refused = 0;
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 10, maxLength: 60 }), (events) => {
        const model = new KeyModel();
        let attempt = 0;
        let generation = 1;
        for (const event of events) {
          const before = model.record;
          model.apply(event);
          const record = model.record;
          const decision = model.lastDecision;
          if (decision !== undefined) {
            let flavour = '';
            if (decision.kind === 'reserve' && decision.override) flavour = ' override';
            else if (decision.kind === 'reserve' && decision.fresh && before !== undefined)
              flavour = ' fresh';
            reached.add(`${before?.state ?? 'none'} -> ${decision.kind}${flavour}`);
          }
          // A call never takes over a key whose last attempt may have reached the provider.
          if ((before?.state === 'unknown' || before?.state === 'in_flight') && event.type === 'call') {
            expect(record).toBe(before);
          }
          if (record === undefined) continue;

          expect(record.attempt).toBeGreaterThanOrEqual(attempt);
          expect(record.generation).toBeGreaterThanOrEqual(generation);
          attempt = record.attempt;
          generation = record.generation;

          expectInvariants(model, record);
        }
        refused += model.refused;
      }),
      { numRuns: 400 },
    );
    const cells = [
      'none -> reserve',
      'in_flight -> wait',
      'in_flight -> reconcile',
      'in_flight -> mismatch',
      'unknown -> reconcile',
      'succeeded -> replay',
      'failed -> replay',
      'succeeded -> mismatch',
      'released -> reserve',
      'failed -> reserve',
    ];
    expect(cells.filter((cell) => !reached.has(cell))).toEqual([]);
    // Rarer cells, counted across settled states: tombstones, overrides and keys reused past their tombstone.
    const any = (suffix: string): boolean => [...reached].some((cell) => cell.endsWith(suffix));
    expect(
      ['-> tombstone', '-> reserve override', '-> reserve fresh'].filter((suffix) => !any(suffix)),
    ).toEqual([]);
    expect(refused).toBeGreaterThan(0);
  });
});
