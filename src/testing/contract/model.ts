import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { expect } from './expect.ts';
import { it } from './runner.ts';
import { decide, reservedRecord } from '../../machine/decide.ts';
import { RecordState, type IdempotencyRecord, type SettledState } from '../../machine/record.ts';
import type { FencedResult, Lease, Store } from '../../stores/types.ts';
import { fp, HOUR_MS, scope, type ContractContext } from './support.ts';

/**
 * Leases are either an hour (live for the whole run) or zero (lapsed at once), and TTLs are an hour, so
 * the model needs no clock of its own: whether a lease is live is part of the model state.
 */
type Command =
  | {
      readonly kind: 'begin';
      readonly payload: number;
      readonly retryFailed: boolean;
      readonly live: boolean;
    }
  | { readonly kind: 'settle'; readonly lease: number; readonly state: SettledState | 'unknown' }
  | { readonly kind: 'heartbeat'; readonly lease: number; readonly live: boolean }
  | { readonly kind: 'markUnknown'; readonly attemptDelta: number }
  | { readonly kind: 'reclaim'; readonly attemptDelta: number; readonly live: boolean }
  | { readonly kind: 'resolve'; readonly attemptDelta: number; readonly state: SettledState };

const settledState = fc.constantFrom<SettledState>('succeeded', 'failed', 'released');
const delta = fc.constantFrom(-1, 0, 0, 0, 1);
/** An index into the leases handed out so far; out of range means a forged lease. */
const leaseIndex = fc.nat({ max: 6 });

const command: fc.Arbitrary<Command> = fc.oneof(
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
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('heartbeat' as const), lease: leaseIndex, live: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('markUnknown' as const), attemptDelta: delta }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('reclaim' as const), attemptDelta: delta, live: fc.boolean() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('resolve' as const), attemptDelta: delta, state: settledState }),
  },
);

interface Model {
  record: IdempotencyRecord | undefined;
  /** Whether the in-flight lease is live (leases are an hour or nothing). */
  live: boolean;
  readonly leases: Lease[];
}

const leaseMs = (live: boolean): number => (live ? HOUR_MS : 0);
/** A lease end that `decide` reads as live or lapsed, whatever the store's clock says. */
const leaseEnd = (live: boolean): number => (live ? Number.MAX_SAFE_INTEGER : 0);
/** What the model compares: the fields that the conflict table and the fence depend on. */
const shape = (record: IdempotencyRecord | undefined): unknown =>
  record === undefined
    ? undefined
    : {
        state: record.state,
        attempt: record.attempt,
        generation: record.generation,
        fingerprint: record.fingerprint,
        leaseOwner: record.leaseOwner,
      };

const isLapsedOrUnknown = (model: Model, attempt: number): boolean =>
  model.record !== undefined &&
  model.record.attempt === attempt &&
  (model.record.state === RecordState.Unknown ||
    (model.record.state === RecordState.InFlight && !model.live));

const holds = (model: Model, lease: Lease): boolean =>
  model.record?.state === RecordState.InFlight &&
  model.record.attempt === lease.attempt &&
  model.record.leaseOwner === lease.token;

function settleRecord(record: IdempotencyRecord, state: IdempotencyRecord['state']): IdempotencyRecord {
  return { ...record, state, leaseOwner: null, leaseUntil: null };
}

/** Runs one command against the store and the model, and checks that they agree. */
async function step(store: Store, key: string, model: Model, cmd: Command): Promise<void> {
  const attempt = (model.record?.attempt ?? 1) + ('attemptDelta' in cmd ? cmd.attemptDelta : 0);
  const pick = (index: number): Lease =>
    model.leases[index] ?? {
      key,
      attempt: model.record?.attempt ?? 1,
      generation: model.record?.generation ?? 1,
      token: randomUUID(),
      leaseUntil: 0,
    };
  const expectFenced = (result: FencedResult, applies: boolean): void => {
    expect(result.ok, `${cmd.kind} ${applies ? 'applies' : 'is refused'}`).toBe(applies);
  };

  switch (cmd.kind) {
    case 'begin': {
      const incoming = { fingerprint: fp(`payload-${cmd.payload}`), retryFailed: cmd.retryFailed };
      const token = randomUUID();
      const input = { key, operation: 'model@1', ...incoming, token, leaseMs: leaseMs(cmd.live) };
      const begun = await store.begin(input);
      const now = begun.reserved ? begun.record.updatedAt : begun.now;
      const decision = decide(model.record, incoming, now);
      expect(begun.reserved, `begin decides ${decision.kind}`).toBe(decision.kind === 'reserve');
      if (!begun.reserved) expect(decide(begun.record, incoming, now).kind).toBe(decision.kind);
      if (decision.kind === 'reserve') {
        model.record = reservedRecord(model.record, decision, input, now);
        model.live = cmd.live;
        if (begun.reserved) model.leases.push(begun.lease);
      }
      break;
    }
    case 'settle': {
      const lease = pick(cmd.lease);
      const applies = holds(model, lease);
      expectFenced(
        await store.settle(lease, { state: cmd.state, result: '{}', ttlMs: HOUR_MS, tombstoneMs: HOUR_MS }),
        applies,
      );
      if (applies && model.record) model.record = settleRecord(model.record, cmd.state);
      break;
    }
    case 'heartbeat': {
      const applies = holds(model, pick(cmd.lease));
      expectFenced(await store.heartbeat(pick(cmd.lease), leaseMs(cmd.live)), applies);
      if (applies && model.record) {
        model.record = { ...model.record, leaseUntil: leaseEnd(cmd.live) };
        model.live = cmd.live;
      }
      break;
    }
    case 'markUnknown': {
      const applies =
        model.record?.state === RecordState.InFlight && !model.live && model.record.attempt === attempt;
      expectFenced(await store.markUnknown(key, attempt, 'model'), applies);
      if (applies && model.record) model.record = settleRecord(model.record, RecordState.Unknown);
      break;
    }
    case 'reclaim': {
      const applies = isLapsedOrUnknown(model, attempt);
      const token = randomUUID();
      const result = await store.reclaim({
        key,
        attempt,
        token,
        leaseMs: leaseMs(cmd.live),
        reason: 'model',
      });
      expect('lease' in result, `reclaim ${applies ? 'applies' : 'is refused'}`).toBe(applies);
      if ('lease' in result) model.leases.push(result.lease);
      if (applies && model.record) {
        model.record = {
          ...model.record,
          state: RecordState.InFlight,
          attempt: attempt + 1,
          leaseOwner: token,
          leaseUntil: leaseEnd(cmd.live),
        };
        model.live = cmd.live;
      }
      break;
    }
    case 'resolve': {
      const applies = isLapsedOrUnknown(model, attempt);
      const request = {
        key,
        attempt,
        state: cmd.state,
        reason: 'model',
        actor: 'model',
        ttlMs: HOUR_MS,
        tombstoneMs: HOUR_MS,
      };
      expectFenced(await store.resolve(request), applies);
      if (applies && model.record) model.record = settleRecord(model.record, cmd.state);
      break;
    }
  }
  expect(shape(await store.get(key)), `after ${JSON.stringify(cmd)}`).toEqual(shape(model.record));
}

/** The store agrees with the pure model (`decide`, `reservedRecord` and the fence) on random histories. */
export function modelContract({ store }: ContractContext): void {
  it('agrees with the pure model on random command sequences', async () => {
    const { key } = scope('model');
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 14 }), async (commands) => {
        const model: Model = { record: undefined, live: false, leases: [] };
        const runKey = key(`run-${run++}`);
        for (const cmd of commands) await step(store(), runKey, model, cmd);
      }),
      { numRuns: 40 },
    );
  });
}
