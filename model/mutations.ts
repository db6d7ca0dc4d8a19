/**
 * Rule variants that break one rule on purpose. Each is injected into the world in place of the real
 * rule (never by editing src/), and the checker must catch it with a trace.
 */
import { RecordState } from '../src/machine/record.ts';
import type { Rules } from './rules.ts';

export const MUTATIONS = {
  /** A holder's write applies whenever the key is in flight, whoever holds it now. */
  'drop-fence': (base) => ({
    ...base,
    holds: (record) => record !== undefined && record.state === RecordState.InFlight,
  }),
  /** An `unknown` outcome gets a TTL like a settled one. */
  'expire-unknown': (base) => ({
    ...base,
    settled: (record, state, end, policy, now) => {
      const ended = base.settled(record, state, end, policy, now);
      return state === RecordState.Unknown
        ? { ...ended, expiresAt: now + policy.ttlMs, tombstoneUntil: now + policy.ttlMs + policy.tombstoneMs }
        : ended;
    },
  }),
  /** A lookup's `absent` is trusted at once, inside the provider's settle delay. */
  'trust-absent-early': (base) => ({
    ...base,
    afterAbsent: (record, policy, now) => base.afterAbsent(record, { ...policy, lookupSettleMs: 0 }, now),
  }),
  /** Re-send under the same provider key even after the provider's retention has passed. */
  'resend-past-retention': (base) => ({
    ...base,
    planReconcile: (record, policy, now, hasLookup) =>
      policy.resendWithinMs > 0 ? { kind: 'resend' } : base.planReconcile(record, policy, now, hasLookup),
  }),
  /** The requester of an override may approve it herself. */
  'self-approval': (base) => ({ ...base, approvalAllowed: () => true }),
  /** A burned provider key is re-sent after a trusted absent instead of starting a new generation. */
  'reuse-burned-key': (base) => ({
    ...base,
    afterAbsent: (record, policy, now) => {
      const step = base.afterAbsent(record, policy, now);
      return step.kind === 'claim' && step.claim.rekey
        ? { kind: 'claim', claim: { rekey: false, keyEvidence: 'absent' } }
        : step;
    },
  }),
  /** The lease keeper renews for as long as the call runs: no attempt deadline. */
  'skip-deadline': (base) => ({ ...base, attemptTimeoutMs: () => null }),
} as const satisfies Record<string, (base: Rules) => Rules>;

export type MutationName = keyof typeof MUTATIONS;

export function mutate(base: Rules, mutation: MutationName): Rules {
  return { ...MUTATIONS[mutation](base), name: `${base.name} with ${mutation}` };
}
