import { decide, reservedRecord } from '../../machine/decide.ts';
import {
  AuditEvent,
  OverrideStatus,
  RecordState,
  type IdempotencyRecord,
  type OverrideRequest,
} from '../../machine/record.ts';
import type {
  BeginRequest,
  BeginResult,
  FencedResult,
  Lease,
  OverrideAnswer,
  OverrideRequestInput,
  ReclaimRequest,
  ReclaimResult,
  ResolutionRequestInput,
  ResolveRequest,
  Settlement,
  UnknownNote,
} from '../types.ts';
import { approvalRefusal, overrideRefusal } from '../../machine/overrides.ts';
import { refused } from '../refusals.ts';
import { leaseOf } from '../shared.ts';
import type { Clock } from '../../clock.ts';
import type { SqliteDatabase } from './driver.ts';
import type { Statements } from './statements.ts';
import { isLapsed, isUnsettled } from '../../machine/lapse.ts';
import {
  endedRecord,
  holds,
  mayReclaim,
  notedRecord,
  reclaimedRecord,
  unknownRecord,
} from '../../machine/transitions.ts';

/** The identity the library itself writes audit entries under. */
const EXECUTOR = 'executor';

/**
 * Every transition as one `BEGIN IMMEDIATE` transaction: the write lock is taken before the record is
 * read, so the read, the decision and the write cannot interleave with another connection's. Time is
 * read inside the transaction, after the lock is held, from `clock` (the process clock unless a test
 * gave the store its own).
 */
export class SqliteOperations {
  readonly begin: (request: BeginRequest) => BeginResult;
  readonly heartbeat: (lease: Lease, leaseMs: number) => FencedResult;
  readonly settle: (lease: Lease, settlement: Settlement) => FencedResult;
  readonly markUnknown: (key: string, attempt: number, reason: string) => FencedResult;
  readonly noteUnknown: (note: UnknownNote) => FencedResult;
  readonly reclaim: (request: ReclaimRequest) => ReclaimResult;
  readonly resolve: (request: ResolveRequest) => FencedResult;
  readonly requestResolution: (input: ResolutionRequestInput) => FencedResult;
  readonly requestOverride: (input: OverrideRequestInput) => OverrideAnswer;
  readonly approveOverride: (id: string, approvedBy: string) => OverrideAnswer;
  readonly deleteBatch: (limit: number) => number;
  readonly compactBatch: (limit: number) => number;

  constructor(db: SqliteDatabase, s: Statements, clock: Clock) {
    const immediate = <A extends unknown[], R>(fn: (now: number, ...args: A) => R): ((...args: A) => R) => {
      const transaction = db.transaction((...args: A) => fn(clock.now(), ...args));
      return (...args: A) => transaction.immediate(...args);
    };

    const reserve = immediate((now, request: BeginRequest): BeginResult => {
      const previous = s.record(request.key);
      const decision = decide(previous, request, now);
      if (decision.kind !== 'reserve') return { reserved: false, record: decision.record, now };
      const record = reservedRecord(previous, decision, request, now);
      s.write(record);
      if (decision.override && previous !== undefined) {
        const id = s.useOverride(request.key, request.fingerprint, previous.generation);
        s.appendAudit({
          key: request.key,
          at: now,
          attempt: record.attempt,
          actor: EXECUTOR,
          event: AuditEvent.OverrideUsed,
          detail: { override: id ?? null, fingerprint: request.fingerprint, generation: record.generation },
        });
      }
      return { reserved: true, lease: leaseOf(record), record };
    });
    // A key that cannot be reserved now (a replay, a wait, a mismatch: most calls on an existing key) is
    // answered from a plain read, which takes no write lock, so it never queues behind other writers; any
    // other key is decided again under the lock.
    this.begin = (request: BeginRequest): BeginResult => {
      const seen = s.record(request.key);
      if (seen !== undefined) {
        const now = clock.now();
        if (decide(seen, request, now).kind !== 'reserve') return { reserved: false, record: seen, now };
      }
      return reserve(request);
    };

    this.heartbeat = immediate((now, lease: Lease, leaseMs: number): FencedResult => {
      const current = s.record(lease.key);
      if (!holds(current, lease)) return { ok: false, record: current };
      const record = { ...current, leaseUntil: now + leaseMs, updatedAt: now };
      s.write(record);
      return { ok: true, record };
    });

    this.settle = immediate((now, lease: Lease, settlement: Settlement): FencedResult => {
      const current = s.record(lease.key);
      if (!holds(current, lease)) {
        // The write may have happened: keep the stale holder's whole settlement as evidence.
        s.appendAudit({
          key: lease.key,
          at: now,
          attempt: lease.attempt,
          actor: EXECUTOR,
          event: AuditEvent.LateWrite,
          detail: {
            state: settlement.state,
            result: settlement.result ?? null,
            providerRef: settlement.providerRef ?? null,
            reason: settlement.reason ?? null,
            ttlMs: settlement.ttlMs,
            tombstoneMs: settlement.tombstoneMs,
            token: lease.token,
            generation: lease.generation,
          },
        });
        return { ok: false, record: current };
      }
      const record = endedRecord(current, settlement, now);
      s.write(record);
      return { ok: true, record };
    });

    this.markUnknown = immediate((now, key: string, attempt: number, reason: string): FencedResult => {
      const current = s.record(key);
      if (current?.attempt !== attempt || !isLapsed(current, now)) return { ok: false, record: current };
      const record = unknownRecord(current, reason, now);
      s.write(record);
      s.appendAudit({
        key,
        at: now,
        attempt,
        actor: EXECUTOR,
        event: AuditEvent.MarkedUnknown,
        detail: { reason, token: current.leaseOwner, leaseUntil: current.leaseUntil },
      });
      return { ok: true, record };
    });

    this.noteUnknown = immediate((now, note: UnknownNote): FencedResult => {
      const current = s.record(note.key);
      if (current?.attempt !== note.attempt || current.state !== RecordState.Unknown) {
        return { ok: false, record: current };
      }
      const record = notedRecord(current, note.reason);
      s.write(record);
      s.appendAudit({
        key: note.key,
        at: now,
        attempt: note.attempt,
        actor: note.actor,
        event: AuditEvent.StillUnknown,
        detail: { action: note.action, answer: note.answer, reason: note.reason },
      });
      return { ok: true, record };
    });

    this.reclaim = immediate((now, request: ReclaimRequest): ReclaimResult => {
      const current = s.record(request.key);
      if (!isUnsettled(current, request.attempt, now) || !mayReclaim(current, request)) {
        return { ok: false, record: current };
      }
      const record = reclaimedRecord(current, request, now);
      s.write(record);
      // What the previous attempt left behind is kept: the new attempt overwrites it.
      const detail = { reason: request.reason, token: request.token, previous: evidenceOf(current) };
      s.appendAudit({
        key: request.key,
        at: now,
        attempt: record.attempt,
        actor: EXECUTOR,
        ...(request.rekey === undefined
          ? { event: AuditEvent.Reclaimed, detail }
          : { event: AuditEvent.Rekeyed, detail: rekeyDetail(current, record, request.rekey, detail) }),
      });
      return { ok: true, lease: leaseOf(record), record };
    });

    this.resolve = immediate((now, request: ResolveRequest): FencedResult => {
      const current = s.record(request.key);
      if (!isUnsettled(current, request.attempt, now)) return { ok: false, record: current };
      const record = endedRecord(current, request, now);
      s.write(record);
      s.appendAudit({
        key: request.key,
        at: now,
        attempt: request.attempt,
        actor: request.actor,
        event: AuditEvent.Resolved,
        detail: {
          state: request.state,
          reason: request.reason,
          result: record.result,
          providerRef: record.providerRef,
          previous: evidenceOf(current),
          evidence:
            request.evidence === undefined || request.evidence === null ? null : JSON.parse(request.evidence),
        },
      });
      if (record.generation !== current.generation && request.newGeneration !== undefined) {
        s.appendAudit({
          key: request.key,
          at: now,
          attempt: request.attempt,
          actor: request.actor,
          event: AuditEvent.Rekeyed,
          detail: rekeyDetail(current, record, request.newGeneration, { reason: request.reason }),
        });
      }
      return { ok: true, record };
    });

    this.requestResolution = immediate((now, input: ResolutionRequestInput): FencedResult => {
      const current = s.record(input.key);
      if (!isUnsettled(current, input.attempt, now)) return { ok: false, record: current };
      s.appendAudit({
        key: input.key,
        at: now,
        attempt: input.attempt,
        actor: input.requestedBy,
        event: AuditEvent.ResolutionRequested,
        detail: {
          id: input.id,
          state: input.state,
          result: input.result,
          providerRef: input.providerRef,
          reason: input.reason,
          newGeneration: input.newGeneration === true,
        },
      });
      return { ok: true, record: current };
    });

    this.requestOverride = immediate((now, input: OverrideRequestInput): OverrideAnswer => {
      const current = s.record(input.key);
      const refusal = overrideRefusal(input.key, current, input.fingerprint, now);
      if (refusal !== undefined) return refused(refusal);
      if (current === undefined) return refused({ code: 'no_record', key: input.key });
      if (s.override(input.id) !== undefined) return refused({ code: 'duplicate_request', id: input.id });
      const override: OverrideRequest = {
        id: input.id,
        key: input.key,
        fingerprint: input.fingerprint,
        requestedBy: input.requestedBy,
        reason: input.reason,
        payload: input.payload ?? null,
        generation: current.generation,
        attempt: current.attempt,
        requestedAt: now,
        approvedBy: null,
        approvedAt: null,
        status: OverrideStatus.Pending,
      };
      s.insertOverride(override);
      s.appendAudit({
        key: input.key,
        at: now,
        attempt: current.attempt,
        actor: input.requestedBy,
        event: AuditEvent.OverrideRequested,
        detail: {
          id: input.id,
          fingerprint: input.fingerprint,
          generation: current.generation,
          reason: input.reason,
        },
      });
      return { ok: true, override };
    });

    this.approveOverride = immediate((now, id: string, approvedBy: string): OverrideAnswer => {
      const pending = s.override(id);
      const current = pending === undefined ? undefined : s.record(pending.key);
      // Requests from before schema version 3 carry attempt 0 and are bound by generation only.
      const refusal = approvalRefusal(id, pending, approvedBy, current, now);
      if (refusal !== undefined) return refused(refusal);
      if (pending === undefined || current === undefined) return refused({ code: 'no_request', id });
      const override = s.approveOverride(id, approvedBy, now);
      // Under the write lock nothing else approves it in between: a store bug, answered as not pending.
      if (override === undefined) return refused({ code: 'not_pending', id, status: pending.status });
      s.write({
        ...current,
        overrideFingerprint: override.fingerprint,
        overrideAttempt: current.attempt,
        updatedAt: now,
      });
      s.appendAudit({
        key: override.key,
        at: now,
        attempt: current.attempt,
        actor: approvedBy,
        event: AuditEvent.OverrideApproved,
        detail: { id, fingerprint: override.fingerprint, generation: override.generation },
      });
      return { ok: true, override };
    });

    this.deleteBatch = immediate((now, limit: number) => s.deleteBatch(now, limit));
    this.compactBatch = immediate((now, limit: number) => s.compactBatch(now, limit));
  }
}

function evidenceOf(record: IdempotencyRecord): Record<string, unknown> {
  return {
    state: record.state,
    reason: record.reason,
    result: record.result,
    providerRef: record.providerRef,
    leaseOwner: record.leaseOwner,
    leaseUntil: record.leaseUntil,
    keyEvidence: record.keyEvidence,
  };
}

/** The `rekeyed` entry's detail (the same shape in every store): the generations and the evidence. */
function rekeyDetail(
  before: IdempotencyRecord,
  after: IdempotencyRecord,
  rekey: { readonly evidence: Readonly<Record<string, unknown>> },
  base: Record<string, unknown>,
): Record<string, unknown> {
  return {
    ...base,
    fromGeneration: before.generation,
    toGeneration: after.generation,
    keyEvidence: before.keyEvidence,
    evidence: rekey.evidence,
  };
}
