import fc from 'fast-check';
import type { KeyEvidence, SettledState } from '../../machine/record.ts';

/**
 * The commands the contract's model test draws (model.ts runs them). Leases are either an hour (live
 * for the whole run) or zero (lapsed at once), and TTLs are an hour, so the model needs no clock of its
 * own: whether a lease is live is part of the model state.
 */
export type Command =
  | {
      readonly kind: 'begin';
      readonly payload: number;
      readonly retryFailed: boolean;
      readonly live: boolean;
    }
  | {
      readonly kind: 'settle';
      readonly lease: number;
      readonly state: SettledState | 'unknown';
      readonly evidence: Evidence | undefined;
    }
  | { readonly kind: 'heartbeat'; readonly lease: number; readonly live: boolean }
  | { readonly kind: 'markUnknown'; readonly attemptDelta: number }
  | {
      readonly kind: 'reclaim';
      readonly attemptDelta: number;
      readonly live: boolean;
      readonly evidence: Evidence | undefined;
      readonly rekey: boolean;
    }
  | {
      readonly kind: 'resolve';
      readonly attemptDelta: number;
      readonly state: SettledState;
      readonly evidence: Evidence | undefined;
      readonly newGeneration: boolean;
    }
  /** Behind the store's back: the in-flight record loses its lease end (the `eraseLeaseEnd` hook). */
  | { readonly kind: 'eraseLeaseEnd' }
  | {
      readonly kind: 'requestOverride';
      readonly payload: number;
      readonly by: Person;
      /** Reuse the id of the run's first request (refused as a duplicate unless the record refuses first). */
      readonly reuseId: boolean;
    }
  /** `request` picks one of the run's override requests, or an id nobody made. */
  | { readonly kind: 'approveOverride'; readonly request: number; readonly by: Person };

export type Person = 'alice' | 'bob';

export type Evidence = NonNullable<KeyEvidence>;
/** Provider-key evidence a transition writes, or undefined (unchanged). */
const evidenceArb = fc.option(fc.constantFrom<Evidence>('answered', 'absent', 'burned'), {
  nil: undefined,
});

const settledState = fc.constantFrom<SettledState>('succeeded', 'failed', 'released');
const delta = fc.constantFrom(-1, 0, 0, 0, 1);
/** An index into the leases handed out so far; out of range means a forged lease. */
const leaseIndex = fc.nat({ max: 6 });

const person = fc.constantFrom<Person>('alice', 'bob');

/**
 * Half the runs start from a settled record (a begin its holder settles; half of those with an override
 * request on it), where overrides and their refusals happen: random histories rarely get there, since
 * most random settles hold a forged lease.
 */
export const settledStart: fc.Arbitrary<Command[]> = fc.oneof(
  fc.constant<Command[]>([]),
  fc
    .tuple(fc.constantFrom<SettledState>('succeeded', 'failed'), fc.boolean())
    .map(([state, requested]): Command[] => [
      { kind: 'begin', payload: 0, retryFailed: false, live: true },
      { kind: 'settle', lease: 0, state, evidence: undefined },
      ...(requested
        ? [{ kind: 'requestOverride' as const, payload: 1, by: 'alice' as const, reuseId: false }]
        : []),
    ]),
);

/** The commands of the model; `eraseLeaseEnd` only when the store's test gives the hook. */
export const commands = (eraseLeaseEnd: boolean): fc.Arbitrary<Command> =>
  fc.oneof(
    ...baseCommands,
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('requestOverride' as const),
        payload: fc.nat({ max: 2 }),
        by: person,
        reuseId: fc.boolean(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('approveOverride' as const),
        request: fc.nat({ max: 2 }),
        by: person,
      }),
    },
    ...(eraseLeaseEnd ? [{ weight: 1, arbitrary: fc.constant({ kind: 'eraseLeaseEnd' as const }) }] : []),
  );

const baseCommands = [
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('begin' as const),
      payload: fc.nat({ max: 1 }),
      retryFailed: fc.boolean(),
      live: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('settle' as const),
      lease: leaseIndex,
      state: fc.oneof(settledState, fc.constant('unknown' as const)),
      evidence: evidenceArb,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('heartbeat' as const), lease: leaseIndex, live: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('markUnknown' as const), attemptDelta: delta }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('reclaim' as const),
      attemptDelta: delta,
      live: fc.boolean(),
      evidence: evidenceArb,
      rekey: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('resolve' as const),
      attemptDelta: delta,
      state: settledState,
      evidence: evidenceArb,
      newGeneration: fc.boolean(),
    }),
  },
] as const;
