import { describe, expect, it } from 'vitest';
import {
  afterTrustedAbsent,
  evidenceAfterAttempt,
  evidenceOnReserve,
  mayRekey,
} from './provider-key-evidence.ts';
import { absentVerdict, planReconcile, type ReconcilePolicy } from './reconcile-plan.ts';
import type { IdempotencyRecord } from './record.ts';

const NOW = 1_700_000_000_000;
const DAY = 86_400_000;

function unknown(overrides: Partial<IdempotencyRecord> = {}): IdempotencyRecord {
  return {
    key: 'rs1:t:charge@1:-:00',
    operation: 'charge@1',
    fingerprint: 'sha256:a',
    state: 'unknown',
    attempt: 1,
    generation: 1,
    leaseOwner: null,
    leaseUntil: null,
    result: null,
    request: '{}',
    providerRef: null,
    reason: 'stripe answered 500',
    overrideFingerprint: null,
    overrideAttempt: null,
    keyFields: null,
    keyEvidence: null,
    createdAt: NOW - 1000,
    updatedAt: NOW - 1000,
    expiresAt: null,
    tombstoneUntil: null,
    ...overrides,
  };
}

const policy: ReconcilePolicy = {
  resendWithinMs: DAY,
  lookupSettleMs: 500,
  canResend: true,
  hasLookup: true,
};

describe('provider-key evidence', () => {
  it('no answer leaves the evidence; an answer is answered, or burned after a proven absence', () => {
    expect(evidenceAfterAttempt(null, 'none')).toBeNull();
    expect(evidenceAfterAttempt('absent', 'none')).toBe('absent');
    expect(evidenceAfterAttempt('answered', 'none')).toBe('answered');
    expect(evidenceAfterAttempt(null, 'answered')).toBe('answered');
    expect(evidenceAfterAttempt('answered', 'answered')).toBe('answered');
    expect(evidenceAfterAttempt('absent', 'answered')).toBe('burned');
    expect(evidenceAfterAttempt(null, 'burned')).toBe('burned');
    expect(evidenceAfterAttempt('burned', 'none')).toBe('burned');
  });

  it('a provider that does not store errors never has its key burned by an answer', () => {
    // A provider that caches only successes: a 5xx never burns its key, but it may follow the effect,
    // so it blocks a re-send until a lookup has answered.
    expect(evidenceAfterAttempt(null, 'answered', false)).toBe('answered');
    expect(evidenceAfterAttempt('absent', 'answered', false)).toBe('answered');
    expect(evidenceAfterAttempt('absent', 'burned', false)).toBe('burned');
    expect(evidenceAfterAttempt('absent', 'answered', true)).toBe('burned');
  });

  it('after a trusted absent: the same provider key unless it is burned', () => {
    expect(afterTrustedAbsent(null)).toEqual({ newGeneration: false, keyEvidence: 'absent' });
    expect(afterTrustedAbsent('answered')).toEqual({ newGeneration: false, keyEvidence: 'absent' });
    expect(afterTrustedAbsent('absent')).toEqual({ newGeneration: false, keyEvidence: 'absent' });
    expect(afterTrustedAbsent('burned')).toEqual({ newGeneration: true, keyEvidence: null });
    expect(mayRekey('answered')).toBe(false);
  });

  it('a reservation keeps the evidence within a generation and resets it for a new one', () => {
    const previous = unknown({ state: 'released', keyEvidence: 'absent' });
    expect(evidenceOnReserve(previous, 1, false)).toBe('absent');
    expect(evidenceOnReserve(previous, 2, true)).toBeNull();
    expect(evidenceOnReserve(previous, 1, true)).toBeNull();
    expect(evidenceOnReserve(undefined, 1, true)).toBeNull();
  });
});

describe('planReconcile', () => {
  it('re-sends under the same key within retention while the key has not answered', () => {
    expect(planReconcile(unknown(), policy, NOW)).toEqual({ kind: 'resend', until: NOW - 1000 + DAY });
    expect(planReconcile(unknown({ keyEvidence: 'absent' }), policy, NOW).kind).toBe('resend');
  });

  it('looks up instead when the key answered or is burned, or the retention has passed', () => {
    for (const keyEvidence of ['answered', 'burned'] as const) {
      expect(planReconcile(unknown({ keyEvidence }), policy, NOW)).toEqual({
        kind: 'lookup',
        trustAbsentFrom: NOW - 1000 + 500,
      });
    }
    expect(planReconcile(unknown(), policy, NOW - 1000 + DAY).kind).toBe('lookup');
    expect(planReconcile(unknown(), { ...policy, canResend: false }, NOW).kind).toBe('lookup');
  });

  it('is blocked without a lookup when a re-send cannot help, and waits on a live lease', () => {
    const noLookup = { ...policy, hasLookup: false };
    expect(planReconcile(unknown({ keyEvidence: 'burned' }), noLookup, NOW).kind).toBe('blocked');
    expect(planReconcile(unknown(), { ...noLookup, resendWithinMs: 0 }, NOW).kind).toBe('blocked');
    const live = unknown({ state: 'in_flight', leaseOwner: 't', leaseUntil: NOW + 1 });
    expect(planReconcile(live, policy, NOW)).toEqual({ kind: 'wait', leaseUntil: NOW + 1 });
  });

  it('trusts absent only past the settle delay; then a burned key gets a new generation', () => {
    const burned = unknown({ keyEvidence: 'burned' });
    const plan = planReconcile(burned, policy, NOW);
    if (plan.kind !== 'lookup') throw new Error('expected a lookup');
    expect(absentVerdict(burned, plan, NOW - 1000 + 499)).toEqual({ trusted: false, trustFrom: NOW - 500 });
    expect(absentVerdict(burned, plan, NOW - 500)).toEqual({
      trusted: true,
      newGeneration: true,
      keyEvidence: null,
    });
    const answered = unknown({ keyEvidence: 'answered' });
    expect(absentVerdict(answered, plan, NOW)).toMatchObject({ trusted: true, newGeneration: false });
  });
});
