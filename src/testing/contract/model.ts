import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { expect } from './expect.ts';
import { it } from './runner.ts';
import { decide, reservedRecord } from '../../machine/decide.ts';
import { approvalRefusal, overrideRefusal } from '../../machine/overrides.ts';
import {
  OverrideStatus,
  RecordState,
  type IdempotencyRecord,
  type OverrideRequest,
} from '../../machine/record.ts';
import { refused } from '../../stores/refusals.ts';
import type { FencedResult, Lease, OverrideAnswer, Store } from '../../stores/types.ts';
import { commands, settledStart, type Command, type Evidence } from './model-commands.ts';
import { fp, HOUR_MS, scope, type ContractContext } from './support.ts';

interface Model {
  record: IdempotencyRecord | undefined;
  /** Whether the in-flight lease is live (leases are an hour or nothing). */
  live: boolean;
  readonly leases: Lease[];
  /** The override requests made on the run's key, as the store should hold them. */
  readonly overrides: OverrideRequest[];
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
        leaseUntil: record.leaseUntil === null ? null : 'set',
        keyEvidence: record.keyEvidence,
        overrideFingerprint: record.overrideFingerprint,
        overrideAttempt: record.overrideAttempt,
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

function settleRecord(
  record: IdempotencyRecord,
  state: IdempotencyRecord['state'],
  evidence?: Evidence,
): IdempotencyRecord {
  return {
    ...record,
    state,
    leaseOwner: null,
    leaseUntil: null,
    keyEvidence: evidence ?? record.keyEvidence,
  };
}

/** Writes the evidence when given, as the store seam says (omitted: unchanged). */
const withEvidence = (evidence: Evidence | undefined): { keyEvidence?: Evidence } =>
  evidence === undefined ? {} : { keyEvidence: evidence };

/** Runs one command against the store and the model, and checks that they agree. */
async function step(
  { store: storeOf, eraseLeaseEnd }: ContractContext,
  key: string,
  model: Model,
  cmd: Command,
): Promise<void> {
  const store = storeOf();
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
        if (decision.override && model.record !== undefined) {
          await useOverride(store, key, model, incoming.fingerprint, model.record.generation);
        }
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
        await store.settle(lease, {
          state: cmd.state,
          result: '{}',
          ttlMs: HOUR_MS,
          tombstoneMs: HOUR_MS,
          ...withEvidence(cmd.evidence),
        }),
        applies,
      );
      if (applies && model.record) model.record = settleRecord(model.record, cmd.state, cmd.evidence);
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
      // A rekey applies only to a burned key (mayRekey).
      const applies =
        isLapsedOrUnknown(model, attempt) && (!cmd.rekey || model.record?.keyEvidence === 'burned');
      const token = randomUUID();
      const result = await store.reclaim({
        key,
        attempt,
        token,
        leaseMs: leaseMs(cmd.live),
        reason: 'model',
        ...withEvidence(cmd.evidence),
        ...(cmd.rekey ? { rekey: { evidence: { model: true } } } : {}),
      });
      expect(result.ok, `reclaim ${applies ? 'applies' : 'is refused'}`).toBe(applies);
      if (result.ok) model.leases.push(result.lease);
      if (applies && model.record) {
        model.record = {
          ...model.record,
          state: RecordState.InFlight,
          attempt: attempt + 1,
          generation: model.record.generation + (cmd.rekey ? 1 : 0),
          keyEvidence: cmd.rekey ? null : (cmd.evidence ?? model.record.keyEvidence),
          leaseOwner: token,
          leaseUntil: leaseEnd(cmd.live),
          overrideFingerprint: null,
          overrideAttempt: null,
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
        ...withEvidence(cmd.evidence),
        ...(cmd.newGeneration ? { newGeneration: { evidence: { model: true } } } : {}),
      };
      expectFenced(await store.resolve(request), applies);
      if (applies && model.record) {
        // Only a released resolution takes a new generation.
        const rekey = cmd.newGeneration && cmd.state === RecordState.Released;
        model.record = rekey
          ? {
              ...settleRecord(model.record, cmd.state),
              generation: model.record.generation + 1,
              keyEvidence: null,
            }
          : settleRecord(model.record, cmd.state, cmd.evidence);
      }
      break;
    }
    case 'eraseLeaseEnd': {
      // No store writes such a record; it reads as lapsed (isLapsed) while its holder keeps the fence.
      if (eraseLeaseEnd === undefined || model.record?.state !== RecordState.InFlight) break;
      await eraseLeaseEnd(key);
      model.record = { ...model.record, leaseUntil: null };
      model.live = false;
      break;
    }
    case 'requestOverride': {
      const fingerprint = fp(`payload-${cmd.payload}`);
      const reused = cmd.reuseId ? model.overrides[0] : undefined;
      const id = reused?.id ?? randomUUID();
      const now = Date.now();
      const refusal =
        overrideRefusal(key, model.record, fingerprint, now) ??
        (reused === undefined ? undefined : { code: 'duplicate_request' as const, id });
      const answer = await store.requestOverride({
        id,
        key,
        fingerprint,
        requestedBy: cmd.by,
        reason: 'model',
      });
      expectAnswer(answer, refusal, `requestOverride ${JSON.stringify(cmd)}`);
      if (answer.ok && refusal === undefined && model.record !== undefined) {
        expect(answer.override).toMatchObject({
          status: OverrideStatus.Pending,
          attempt: model.record.attempt,
        });
        model.overrides.push(answer.override);
      }
      break;
    }
    case 'approveOverride': {
      // Mostly a request the run made; one slot in (length + 1) is an id nobody made.
      const index = cmd.request % (model.overrides.length + 1);
      const pending = model.overrides[index];
      const id = pending?.id ?? randomUUID();
      const refusal = approvalRefusal(id, pending, cmd.by, model.record, Date.now());
      const answer = await store.approveOverride(id, cmd.by);
      expectAnswer(answer, refusal, `approveOverride ${JSON.stringify(cmd)}`);
      if (answer.ok && refusal === undefined && pending !== undefined && model.record !== undefined) {
        model.overrides[index] = { ...pending, status: OverrideStatus.Approved };
        model.record = {
          ...model.record,
          overrideFingerprint: pending.fingerprint,
          overrideAttempt: model.record.attempt,
        };
      }
      break;
    }
  }
  expect(shape(await store.get(key)), `after ${JSON.stringify(cmd)}`).toEqual(shape(model.record));
}

/** The answer is what the rule says: the request, or the refusal's code, fields and words. */
function expectAnswer(
  answer: OverrideAnswer,
  refusal: ReturnType<typeof approvalRefusal>,
  what: string,
): void {
  if (refusal === undefined) expect(answer.ok, `${what} applies`).toBe(true);
  else expect(answer, what).toEqual(refused(refusal));
}

/**
 * An override reservation uses every approved request for the fingerprint in the record's generation
 * (several when more than one request approved the same change at the same attempt).
 */
async function useOverride(
  store: Store,
  key: string,
  model: Model,
  fingerprint: string,
  generation: number,
): Promise<void> {
  const matching = model.overrides.filter(
    (o) =>
      o.status === OverrideStatus.Approved && o.fingerprint === fingerprint && o.generation === generation,
  );
  const stored = new Map((await store.listOverrides(key)).map((o) => [o.id, o.status]));
  const used = matching.filter((o) => stored.get(o.id) === OverrideStatus.Used);
  // Requests approving the same change at the same attempt are used together: the reservation's new
  // attempt lapses every one of them.
  expect(matching.length, 'an override reservation has an approved request').toBeGreaterThan(0);
  expect(used.length, 'an override reservation uses every approved request for its payload').toBe(
    matching.length,
  );
  for (const [index, o] of model.overrides.entries()) {
    if (used.includes(o)) model.overrides[index] = { ...o, status: OverrideStatus.Used };
  }
}

/**
 * The store agrees with the pure model (`decide`, `reservedRecord`, the fence, the lapse rule with and
 * without a lease end, and the override refusals) on random histories.
 */
export function modelContract(context: ContractContext): void {
  it('agrees with the pure model on random command sequences', async () => {
    const { key } = scope('model');
    const command = commands(context.eraseLeaseEnd !== undefined);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        settledStart,
        fc.array(command, { minLength: 1, maxLength: 14 }),
        async (start, rest) => {
          const model: Model = { record: undefined, live: false, leases: [], overrides: [] };
          const runKey = key(`run-${run++}`);
          for (const cmd of [...start, ...rest]) await step(context, runKey, model, cmd);
        },
      ),
      { numRuns: 100 },
    );
  });
}
