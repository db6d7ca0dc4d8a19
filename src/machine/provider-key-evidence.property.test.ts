import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { afterTrustedAbsent, evidenceAfterAttempt, type AttemptAnswer } from './provider-key-evidence.ts';
import { absentVerdict, planReconcile } from './reconcile-plan.ts';
import type { IdempotencyRecord, KeyEvidence } from './record.ts';

/**
 * A model of one logical write's life under the pure rules: attempts end with an answer (or none),
 * lookups answer absent at some time, a person may ask for a new generation. The model replays what
 * the executor does with each rule's output, and checks the invariants of SEMANTICS.md 12.
 */
type Step =
  | { readonly kind: 'attempt'; readonly answer: AttemptAnswer }
  | { readonly kind: 'absent'; readonly afterMs: number }
  | { readonly kind: 'person' };

const SETTLE_MS = 100;
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('attempt' as const),
    answer: fc.constantFrom<AttemptAnswer>('none', 'answered', 'burned'),
  }),
  fc.record({ kind: fc.constant('absent' as const), afterMs: fc.integer({ min: 0, max: 2 * SETTLE_MS }) }),
  fc.record({ kind: fc.constant('person' as const) }),
);

interface State {
  evidence: KeyEvidence;
  generation: number;
  /** The last step was a trusted absent whose attempt has not ended yet (same generation). */
  pendingAfterAbsent: boolean;
  updatedAt: number;
}

const record = (s: State): IdempotencyRecord => ({
  key: 'k',
  operation: 'op@1',
  fingerprint: 'sha256:a',
  state: 'unknown',
  attempt: 1,
  generation: s.generation,
  leaseOwner: null,
  leaseUntil: null,
  result: null,
  request: '{}',
  providerRef: null,
  reason: null,
  overrideFingerprint: null,
  overrideAttempt: null,
  keyFields: null,
  keyEvidence: s.evidence,
  createdAt: 0,
  updatedAt: s.updatedAt,
  expiresAt: null,
  tombstoneUntil: null,
});

const policy = { resendWithinMs: 0, lookupSettleMs: SETTLE_MS, canResend: false, hasLookup: true };

describe('provider-key evidence (model-based)', () => {
  it('never a new generation without a trusted absent or a person; burned never cleared within a generation', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const s: State = { evidence: null, generation: 1, pendingAfterAbsent: false, updatedAt: 0 };
        let now = 0;
        for (const st of steps) {
          const before = { ...s };
          now += 10;
          switch (st.kind) {
            case 'attempt':
              s.evidence = evidenceAfterAttempt(s.evidence, st.answer);
              s.pendingAfterAbsent = false;
              s.updatedAt = now;
              // Within a generation burned stays burned, and an answer never clears evidence.
              if (before.evidence === 'burned') expect(s.evidence).toBe('burned');
              if (st.answer === 'none') expect(s.evidence).toBe(before.evidence);
              break;
            case 'absent': {
              const plan = planReconcile(record(s), policy, now + st.afterMs);
              if (plan.kind !== 'lookup') throw new Error('a lookup is declared');
              const verdict = absentVerdict(record(s), plan, now + st.afterMs);
              if (!verdict.trusted) {
                // An untrusted absent changes nothing.
                expect(now + st.afterMs).toBeLessThan(s.updatedAt + SETTLE_MS);
                break;
              }
              if (verdict.newGeneration) {
                // Only a burned key is replaced, and only after a trusted absent.
                expect(before.evidence).toBe('burned');
                s.generation++;
                s.evidence = null;
              } else {
                // The first re-attempt after an ordinary absent keeps the provider key.
                expect(before.evidence).not.toBe('burned');
                expect(s.generation).toBe(before.generation);
                s.evidence = verdict.keyEvidence;
                s.pendingAfterAbsent = true;
              }
              now += st.afterMs;
              s.updatedAt = now;
              break;
            }
            case 'person':
              // A person's audited resolution may start a new generation whatever the evidence.
              s.generation++;
              s.evidence = null;
              break;
          }
          if (s.generation !== before.generation) {
            expect(st.kind === 'person' || (st.kind === 'absent' && before.evidence === 'burned')).toBe(true);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a key that answered non-definitively after a proven absence is burned; a timeout never burns it', () => {
    fc.assert(
      fc.property(fc.constantFrom<KeyEvidence>(null, 'answered', 'absent', 'burned'), (evidence) => {
        const after = afterTrustedAbsent(evidence);
        if (after.newGeneration) return;
        expect(evidenceAfterAttempt(after.keyEvidence, 'answered')).toBe('burned');
        expect(evidenceAfterAttempt(after.keyEvidence, 'none')).toBe('absent');
      }),
    );
  });
});
