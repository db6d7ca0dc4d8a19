/**
 * The world's transitions: every step a worker, the provider, the operator or the clock can take from
 * a state, each applied atomically. Store steps call the injected rules (the real machine by default);
 * the provider and the clock are modelled here. Pure: a state in, its successors out.
 */
import { DEFAULT_POLICY, type OperationPolicy } from '../src/executor/policy.ts';
import { RecordState, type IdempotencyRecord, type SettledState } from '../src/machine/record.ts';
import type { Lease } from '../src/stores/types.ts';
import {
  ATTEMPT_TIMEOUT_MS,
  FAULT_FAMILIES,
  LEASE_MS,
  STEP_MS,
  type FaultKind,
  type ModelConfig,
} from './config.ts';
import type { Claim, Rules } from './rules.ts';
import type {
  CallAnswer,
  Effect,
  HeldLease,
  KeyMemory,
  OperationState,
  Phase,
  Worker,
  WorldState,
} from './state.ts';

/** Far beyond any horizon: TTLs and unbounded retention. */
const FOREVER_MS = 1_000_000_000;
export const FINGERPRINTS = ['sha256:payload-a', 'sha256:payload-b'] as const;
export const OPERATION = 'model-charge@1';

/** One step from a state: who moved, what happened in words, the next state, and a broken rule if any. */
export interface Step {
  readonly actor: string;
  readonly label: string;
  readonly next: WorldState;
  /** Set when the step itself broke an invariant (a stale write accepted, a call without a reservation). */
  readonly violation?: string;
  /** Progress steps are what workers and the clock must take; faults and the operator are optional. */
  readonly progress: boolean;
}

export interface World {
  readonly config: ModelConfig;
  readonly rules: Rules;
  readonly policy: OperationPolicy;
}

export function makeWorld(config: ModelConfig, rules: Rules): World {
  const p = config.provider;
  const retentionMs = p.retentionSteps === null ? FOREVER_MS : p.retentionSteps * STEP_MS;
  const policy: OperationPolicy = {
    ...DEFAULT_POLICY,
    ttlMs: FOREVER_MS,
    tombstoneMs: FOREVER_MS,
    leaseMs: LEASE_MS,
    // What a profile declares: re-send only while a native key is remembered; trust absent after the lag.
    resendWithinMs: p.nativeKey ? retentionMs : 0,
    lookupSettleMs: p.lagSteps * STEP_MS,
    attemptTimeoutMs: ATTEMPT_TIMEOUT_MS,
    // What the provider's profile declares.
    providerStoresErrors: p.storesErrors,
  };
  return { config, rules, policy };
}

export const keyOf = (op: number): string => `op-${op + 1}`;
const SAME_KEY: Claim = { rekey: false, keyEvidence: null };
const name = (index: number): string => `W${index + 1}`;
export const when = (ms: number): string => `t=${ms / LEASE_MS}L`;

function setWorker(state: WorldState, index: number, phase: Phase): WorldState {
  return { ...state, workers: state.workers.map((w, i) => (i === index ? { ...w, phase } : w)) };
}

function setOp(state: WorldState, op: number, change: Partial<OperationState>): WorldState {
  return { ...state, ops: state.ops.map((o, i) => (i === op ? { ...o, ...change } : o)) };
}

function opOf(state: WorldState, op: number): OperationState {
  const found = state.ops[op];
  if (found === undefined) throw new RangeError(`no operation ${op}`);
  return found;
}

/** What a blocked worker remembers: it moves again once the record or the clock differs. */
export function snapshot(state: WorldState, op: number): string {
  return JSON.stringify([opOf(state, op).record ?? null, state.now]);
}

const storeLease = (op: number, lease: HeldLease): Lease => ({
  key: keyOf(op),
  attempt: lease.attempt,
  generation: lease.generation,
  token: lease.token,
  leaseUntil: lease.until,
});

/** The fence as the contract states it, independent of the rules under test. */
function trulyHolds(record: IdempotencyRecord | undefined, lease: HeldLease): boolean {
  return (
    record !== undefined &&
    record.state === RecordState.InFlight &&
    record.attempt === lease.attempt &&
    record.leaseOwner === lease.token
  );
}

function describeRecord(record: IdempotencyRecord | undefined): string {
  if (record === undefined) return 'no record';
  const lease = record.leaseUntil === null ? '' : `, lease until ${when(record.leaseUntil)}`;
  return `${record.state} attempt ${record.attempt} gen ${record.generation}${lease}`;
}

/** Every step enabled in `state`. */
export function successors(world: World, state: WorldState): Step[] {
  const steps: Step[] = [];
  state.workers.forEach((worker, index) => {
    steps.push(...workerSteps(world, state, worker, index));
  });
  steps.push(...operatorSteps(world, state));
  const tick = clockStep(world, state, steps);
  if (tick !== undefined) steps.push(tick);
  return steps;
}

function workerSteps(world: World, state: WorldState, worker: Worker, index: number): Step[] {
  const phase = worker.phase;
  const steps: Step[] = [];
  if (phase.k !== 'idle' && phase.k !== 'done' && state.crashesLeft > 0) {
    steps.push({
      actor: name(index),
      label: `${name(index)} crashes (kill -9) while ${describePhase(phase)}; its delivery is redelivered`,
      next: { ...setWorker(state, index, { k: 'idle', blocked: null }), crashesLeft: state.crashesLeft - 1 },
      progress: false,
    });
  }
  switch (phase.k) {
    case 'idle': {
      // The other payload comes later: a changed request for a key that already has its record.
      const arrived = worker.payload === 0 || opOf(state, worker.op).record !== undefined;
      if (arrived && (phase.blocked === null || phase.blocked !== snapshot(state, worker.op))) {
        steps.push(begin(world, state, worker, index));
      }
      break;
    }
    case 'holding':
      steps.push(...holdingSteps(world, state, worker, index, phase));
      break;
    case 'reconciling':
      steps.push(...reconcileSteps(world, state, worker, index, phase));
      break;
    case 'done':
      break;
  }
  return steps;
}

function describePhase(phase: Phase): string {
  switch (phase.k) {
    case 'idle':
      return 'idle';
    case 'holding':
      return phase.at === 'before-send'
        ? `holding attempt ${phase.lease.attempt} before sending`
        : phase.at === 'hung'
          ? `waiting on a request the provider holds (attempt ${phase.lease.attempt})`
          : `holding the answer ${phase.answer ?? ''} of attempt ${phase.lease.attempt} before recording it`;
    case 'reconciling':
      return `reconciling attempt ${phase.seen.attempt} (next: ${phase.at})`;
    case 'done':
      return 'done';
  }
}

function begin(world: World, state: WorldState, worker: Worker, index: number): Step {
  const { rules, policy } = world;
  const op = opOf(state, worker.op);
  const fingerprint = FINGERPRINTS[worker.payload];
  const decision = rules.decide(op.record, { fingerprint, retryFailed: false }, state.now);
  const who = `${name(index)} (payload ${worker.payload === 0 ? 'A' : 'B'}) begins on ${keyOf(worker.op)}`;
  const seen = describeRecord(op.record);
  const base = { actor: name(index), progress: true } as const;
  switch (decision.kind) {
    case 'reserve': {
      const token = `t${decision.attempt}`;
      const record = rules.reservedRecord(
        op.record,
        decision,
        { key: keyOf(worker.op), operation: OPERATION, fingerprint, token, leaseMs: policy.leaseMs },
        state.now,
      );
      const lease: HeldLease = {
        attempt: record.attempt,
        generation: record.generation,
        token,
        claimedAt: state.now,
        until: state.now + policy.leaseMs,
        lost: false,
      };
      let next = setOp(state, worker.op, {
        record,
        inFlightSince: state.now,
        ...(decision.override
          ? { override: op.override === 'self-approved' ? ('self-used' as const) : ('used' as const) }
          : {}),
      });
      next = setWorker(next, index, { k: 'holding', lease, at: 'before-send', answer: null, paused: false });
      return {
        ...base,
        label: `${who}: ${seen} -> reserves attempt ${record.attempt} (generation ${record.generation}${decision.override ? ', override' : ''})`,
        next,
      };
    }
    case 'replay':
    case 'tombstone':
      return {
        ...base,
        label: `${who}: ${seen} -> ${decision.kind} of the stored outcome`,
        next: setWorker(state, index, { k: 'done', how: 'succeeded' }),
      };
    case 'mismatch':
      return {
        ...base,
        label: `${who}: ${seen} -> PayloadMismatch (a different payload is refused)`,
        next: setWorker(state, index, { k: 'done', how: 'mismatch' }),
      };
    case 'wait':
      return {
        ...base,
        label: `${who}: ${seen} -> waits for the live holder`,
        next: setWorker(state, index, { k: 'idle', blocked: snapshot(state, worker.op) }),
      };
    case 'reconcile': {
      const read = { seen: decision.record, readAt: state.now, claim: SAME_KEY };
      if (decision.record.state === RecordState.InFlight) {
        return {
          ...base,
          label: `${who}: ${seen} -> reconcile (the lease lapsed)`,
          next: setWorker(state, index, { k: 'reconciling', ...read, at: 'mark' }),
        };
      }
      const planned = plan(world, state, worker, index, decision.record, state.now);
      return { ...base, label: `${who}: ${seen} -> reconcile; ${planned.words}`, next: planned.next };
    }
  }
}

/** The reconcile plan for a record read (or marked) at `readAt`: the worker's next phase. */
function plan(
  world: World,
  state: WorldState,
  worker: Worker,
  index: number,
  record: IdempotencyRecord,
  readAt: number,
): { next: WorldState; words: string } {
  const hasLookup = world.config.provider.lookup !== 'none';
  const decided = world.rules.planReconcile(record, world.policy, readAt, hasLookup);
  switch (decided.kind) {
    case 'wait':
      return {
        words: 'plan: another attempt holds a live lease, read again',
        next: setWorker(state, index, { k: 'idle', blocked: null }),
      };
    case 'resend':
      return {
        words: 'plan: re-send under the same provider key (within its retention)',
        next: setWorker(state, index, {
          k: 'reconciling',
          seen: record,
          readAt,
          at: 'claim',
          claim: SAME_KEY,
        }),
      };
    case 'lookup':
      return {
        words: 'plan: ask the provider lookup',
        next: setWorker(state, index, {
          k: 'reconciling',
          seen: record,
          readAt,
          at: 'lookup',
          claim: SAME_KEY,
        }),
      };
    case 'blocked':
      return {
        words: 'plan: nothing can tell -> OutcomeUnknown (left for a person)',
        next: setWorker(state, index, { k: 'idle', blocked: snapshot(state, worker.op) }),
      };
  }
}

function reconcileSteps(
  world: World,
  state: WorldState,
  worker: Worker,
  index: number,
  phase: Extract<Phase, { k: 'reconciling' }>,
): Step[] {
  const { rules, policy } = world;
  const op = opOf(state, worker.op);
  const base = { actor: name(index), progress: true } as const;
  const again = setWorker(state, index, { k: 'idle', blocked: null });
  switch (phase.at) {
    case 'mark': {
      const current = op.record;
      if (current?.attempt !== phase.seen.attempt || !rules.isLapsed(current, state.now)) {
        return [
          {
            ...base,
            label: `${name(index)} marks attempt ${phase.seen.attempt} unknown: refused (the record moved on)`,
            next: again,
          },
        ];
      }
      const record = rules.unknownRecord(current, 'lease lapsed before the outcome was recorded', state.now);
      const marked = setOp(state, worker.op, { record, inFlightSince: null });
      const planned = plan(world, marked, worker, index, record, Math.max(phase.readAt, record.updatedAt));
      return [
        {
          ...base,
          label: `${name(index)} marks lapsed attempt ${record.attempt} unknown; ${planned.words}`,
          next: planned.next,
        },
      ];
    }
    case 'lookup':
      return lookupSteps(world, state, worker, index, phase);
    case 'claim': {
      const token = `t${(op.record?.attempt ?? 0) + 1}`;
      const record =
        op.record === undefined
          ? undefined
          : rules.reclaim(op.record, phase.seen.attempt, phase.claim, token, policy.leaseMs, state.now);
      if (record === undefined) {
        return [
          {
            ...base,
            label: `${name(index)} reclaims after attempt ${phase.seen.attempt}${phase.claim.rekey ? ' with a new generation' : ''}: refused`,
            next: again,
          },
        ];
      }
      const lease: HeldLease = {
        attempt: record.attempt,
        generation: record.generation,
        token,
        claimedAt: state.now,
        until: state.now + policy.leaseMs,
        lost: false,
      };
      const next = setWorker(setOp(state, worker.op, { record, inFlightSince: state.now }), index, {
        k: 'holding',
        lease,
        at: 'before-send',
        answer: null,
        paused: false,
      });
      return [
        {
          ...base,
          label: `${name(index)} reclaims: attempt ${record.attempt} (generation ${record.generation}${phase.claim.rekey ? ', a new provider key' : ''})`,
          next,
        },
      ];
    }
    case 'resolve': {
      if (op.record === undefined || !rules.isUnsettled(op.record, phase.seen.attempt, state.now)) {
        return [
          {
            ...base,
            label: `${name(index)} records the found write: refused (the record moved on)`,
            next: again,
          },
        ];
      }
      const record = rules.resolved(op.record, RecordState.Succeeded, policy, state.now, false);
      const next = setWorker(setOp(state, worker.op, { record, inFlightSince: null }), index, {
        k: 'done',
        how: 'succeeded',
      });
      return [{ ...base, label: `${name(index)} records the write the lookup found: succeeded`, next }];
    }
  }
}

function lookupSteps(
  world: World,
  state: WorldState,
  worker: Worker,
  index: number,
  phase: Extract<Phase, { k: 'reconciling' }>,
): Step[] {
  const op = opOf(state, worker.op);
  const lagMs = world.config.provider.lagSteps * STEP_MS;
  const mine = op.effects.filter((effect) => effect.payload === worker.payload);
  const visible = mine.some((effect) => effect.at + lagMs <= state.now);
  const base = { actor: name(index), progress: true } as const;
  const answers: ('found' | 'absent')[] = visible
    ? ['found']
    : mine.length > 0
      ? ['found', 'absent']
      : ['absent'];
  return answers.map((answer) => {
    const lag = answer === 'absent' && mine.length > 0 ? ' (lagging: the write is not visible yet)' : '';
    if (answer === 'found') {
      return {
        ...base,
        label: `${name(index)} asks the lookup: found`,
        next: setWorker(state, index, { ...phase, at: 'resolve' }),
      };
    }
    const step = world.rules.afterAbsent(phase.seen, world.policy, phase.readAt);
    if (step.kind === 'claim') {
      return {
        ...base,
        label: `${name(index)} asks the lookup: absent${lag}, trusted past the settle delay -> claim a new attempt`,
        next: setWorker(state, index, { ...phase, at: 'claim', claim: step.claim }),
      };
    }
    return {
      ...base,
      label: `${name(index)} asks the lookup: absent${lag}, inside the settle delay -> OutcomeUnknown, try later`,
      next: setWorker(state, index, { k: 'idle', blocked: snapshot(state, worker.op) }),
    };
  });
}

function holdingSteps(
  world: World,
  state: WorldState,
  worker: Worker,
  index: number,
  phase: Extract<Phase, { k: 'holding' }>,
): Step[] {
  const { config, rules, policy } = world;
  const steps: Step[] = [];
  const who = name(index);
  const lease = phase.lease;
  const op = opOf(state, worker.op);
  const deadlineMs = rules.attemptTimeoutMs(policy);
  const pastDeadline = deadlineMs !== null && state.now >= lease.claimedAt + deadlineMs;

  if (phase.paused) {
    if (state.now >= lease.until) {
      steps.push({
        actor: who,
        label: `${who} resumes (SIGCONT) after its lease lapsed`,
        next: setWorker(state, index, { ...phase, paused: false }),
        progress: true,
      });
    }
    return steps;
  }
  const pausable = phase.at !== 'before-send' || config.pauseBeforeSend;
  if (pausable && state.pausesLeft > 0) {
    steps.push({
      actor: who,
      label: `${who} is paused (SIGSTOP) while ${describePhase(phase)}`,
      next: { ...setWorker(state, index, { ...phase, paused: true }), pausesLeft: state.pausesLeft - 1 },
      progress: false,
    });
  }
  switch (phase.at) {
    case 'before-send':
      steps.push(...sendSteps(world, state, worker, index, phase));
      break;
    case 'hung': {
      // The lease keeper renews while the call runs, until the attempt's deadline (if the rules have one).
      if (!lease.lost && !pastDeadline && lease.until < state.now + policy.leaseMs) {
        const applies = rules.holds(op.record, storeLease(worker.op, lease));
        const stale = applies && !trulyHolds(op.record, lease);
        if (applies && op.record !== undefined) {
          const until = state.now + policy.leaseMs;
          const record = { ...op.record, leaseUntil: until, updatedAt: state.now };
          steps.push({
            actor: who,
            label: `${who}'s lease keeper renews attempt ${lease.attempt} until ${when(until)}`,
            next: setWorker(setOp(state, worker.op, { record }), index, {
              ...phase,
              lease: { ...lease, until },
            }),
            progress: true,
            ...(stale
              ? { violation: `a stale holder's heartbeat was accepted (attempt ${lease.attempt})` }
              : {}),
          });
        } else {
          steps.push({
            actor: who,
            label: `${who}'s renewal of attempt ${lease.attempt} is refused: the keeper stops and aborts the signal`,
            next: setWorker(state, index, { ...phase, lease: { ...lease, lost: true } }),
            progress: true,
          });
        }
      }
      if (config.callHonoursSignal && (lease.lost || pastDeadline)) {
        steps.push({
          actor: who,
          label: `${who}'s call stops on its aborted signal (${lease.lost ? 'lease lost' : 'attempt deadline'})`,
          next: setWorker(state, index, { ...phase, at: 'answered', answer: 'aborted' }),
          progress: true,
        });
      }
      break;
    }
    case 'answered':
      steps.push(recordStep(world, state, worker, index, phase));
      break;
  }
  return steps;
}

const SETTLED_BY: Record<CallAnswer, SettledState | typeof RecordState.Unknown> = {
  ok: RecordState.Succeeded,
  '5xx': RecordState.Unknown,
  timeout: RecordState.Unknown,
  aborted: RecordState.Unknown,
  refused: RecordState.Released,
};

function recordStep(
  world: World,
  state: WorldState,
  worker: Worker,
  index: number,
  phase: Extract<Phase, { k: 'holding' }>,
): Step {
  const { rules, policy } = world;
  const who = name(index);
  const op = opOf(state, worker.op);
  const answer = phase.answer ?? 'timeout';
  const target = SETTLED_BY[answer];
  const applies = rules.holds(op.record, storeLease(worker.op, phase.lease));
  if (!applies || op.record === undefined) {
    const next = setWorker(state, index, { k: 'idle', blocked: snapshot(state, worker.op) });
    return {
      actor: who,
      progress: true,
      label: `${who} records attempt ${phase.lease.attempt} as ${target}: refused, LeaseLost (kept as a late write); record is ${describeRecord(op.record)}`,
      next,
    };
  }
  const stale = !trulyHolds(op.record, phase.lease);
  const record = rules.settled(op.record, target, answer, policy, state.now);
  const recorded = setOp(state, worker.op, { record, inFlightSince: null });
  const next =
    target === RecordState.Succeeded
      ? setWorker(recorded, index, { k: 'done', how: 'succeeded' })
      : setWorker(recorded, index, { k: 'idle', blocked: snapshot(recorded, worker.op) });
  return {
    actor: who,
    progress: true,
    label: `${who} records attempt ${phase.lease.attempt} (answer ${answer}) as ${target}`,
    next,
    ...(stale
      ? {
          violation: `a stale holder's write was accepted: attempt ${phase.lease.attempt} settled a record it no longer held`,
        }
      : {}),
  };
}

/** The provider receives one request: every outcome it may choose (a fault only while the budget lasts). */
function sendSteps(
  world: World,
  state: WorldState,
  worker: Worker,
  index: number,
  phase: Extract<Phase, { k: 'holding' }>,
): Step[] {
  const { config } = world;
  const who = name(index);
  const op = opOf(state, worker.op);
  const lease = phase.lease;
  const violations: string[] = [];
  const record = op.record;
  if (!trulyHolds(record, lease) || record === undefined || state.now >= (record.leaseUntil ?? 0)) {
    violations.push(`${who} sent attempt ${lease.attempt} without a live reservation (reserve first)`);
  }
  if (worker.payload === 1 && op.override === 'self-used') {
    violations.push('payload B reached the provider on an override that its requester approved');
  } else if (worker.payload === 1 && op.override !== 'used') {
    violations.push('payload B reached the provider without an approved override');
  }
  const violation = violations.length === 0 ? {} : { violation: violations.join('; ') };
  const memory = config.provider.nativeKey
    ? op.keys.find((entry) => entry.generation === lease.generation)
    : undefined;
  const sent = `${who} sends attempt ${lease.attempt} under provider key g${lease.generation}`;
  const answered = (s: WorldState, answer: CallAnswer): WorldState =>
    setWorker(s, index, { ...phase, at: 'answered', answer });
  const steps: Step[] = [];
  const withFault = (s: WorldState): WorldState => ({ ...s, faultsLeft: s.faultsLeft - 1 });
  const faults: readonly FaultKind[] = state.faultsLeft > 0 ? FAULT_FAMILIES[config.provider.faults] : [];

  if (memory !== undefined) {
    steps.push({
      actor: who,
      progress: true,
      label: `${sent}: the provider replays the stored ${memory.answer === 'ok' ? '200' : '500'} (no new effect)`,
      next: answered(state, memory.answer),
      ...violation,
    });
    if (faults.includes('lost-answer')) {
      steps.push({
        actor: who,
        progress: true,
        label: `${sent}: the provider replays its stored answer, which is lost on the way (timeout)`,
        next: withFault(answered(state, 'timeout')),
        ...violation,
      });
    }
    return steps;
  }

  const perform = (s: WorldState, stored: 'ok' | '5xx' | null): WorldState => {
    const current = opOf(s, worker.op);
    const effect: Effect = { payload: worker.payload, generation: lease.generation, at: s.now };
    const keys: KeyMemory[] =
      stored === null || !config.provider.nativeKey
        ? [...current.keys]
        : [...current.keys, { generation: lease.generation, answer: stored, since: s.now }];
    return setOp(s, worker.op, { effects: [...current.effects, effect], keys });
  };
  const remember = (s: WorldState, answer: '5xx'): WorldState => {
    if (!config.provider.nativeKey || !config.provider.storesErrors) return s;
    const current = opOf(s, worker.op);
    return setOp(s, worker.op, {
      keys: [...current.keys, { generation: lease.generation, answer, since: s.now }],
    });
  };
  const performedAnswer = config.provider.storesErrors ? '5xx' : 'ok';

  steps.push({
    actor: who,
    progress: true,
    label: `${sent}: the provider performs the write and answers 200`,
    next: answered(perform(state, 'ok'), 'ok'),
    ...violation,
  });
  for (const fault of faults) {
    const outcome = ((): { words: string; next: WorldState } => {
      switch (fault) {
        case '5xx-before':
          return {
            words: `answers 500 before any effect${config.provider.storesErrors && config.provider.nativeKey ? ' and stores that 500 under the key' : ''}`,
            next: answered(remember(state, '5xx'), '5xx'),
          };
        case '5xx-after':
          return {
            words: 'performs the write, then answers 500',
            next: answered(perform(state, performedAnswer), '5xx'),
          };
        case 'lost-request':
          return {
            words: 'never receives the request (timeout, no effect)',
            next: answered(state, 'timeout'),
          };
        case 'lost-answer':
          return {
            words: 'performs the write; the answer is lost (timeout)',
            next: answered(perform(state, 'ok'), 'timeout'),
          };
        case 'refused':
          return { words: 'refuses the connection before a byte is sent', next: answered(state, 'refused') };
        case 'hang':
          return {
            words: 'holds the request and never answers',
            next: setWorker(state, index, { ...phase, at: 'hung' }),
          };
      }
    })();
    steps.push({
      actor: who,
      progress: true,
      label: `${sent}: the provider ${outcome.words}`,
      next: withFault(outcome.next),
      ...violation,
    });
  }
  return steps;
}

function operatorSteps(world: World, state: WorldState): Step[] {
  const { config, rules, policy } = world;
  if (!config.operator) return [];
  const steps: Step[] = [];
  state.ops.forEach((op, index) => {
    const record = op.record;
    if (record === undefined) return;
    if (state.resolvesLeft > 0 && rules.isUnsettled(record, record.attempt, state.now)) {
      const payload = record.fingerprint === FINGERPRINTS[1] ? 1 : 0;
      const performed = op.effects.some((effect) => effect.payload === payload);
      const target = performed ? RecordState.Succeeded : RecordState.Released;
      // A person who finds no write asks for a new generation (the key may be burned).
      const resolved = rules.resolved(record, target, policy, state.now, !performed);
      steps.push({
        actor: 'operator',
        progress: false,
        label: `operator alice checks the provider and resolves ${keyOf(index)} as ${target}`,
        next: {
          ...setOp(state, index, { record: resolved, inFlightSince: null }),
          resolvesLeft: state.resolvesLeft - 1,
        },
      });
    }
    if (!config.mismatchWorker) return;
    const overridable = record.state === RecordState.Succeeded || record.state === RecordState.Failed;
    if (op.override === 'none' && overridable) {
      steps.push({
        actor: 'operator',
        progress: false,
        label: `operator alice requests an override of ${keyOf(index)} to payload B`,
        next: setOp(state, index, { override: 'requested' }),
      });
    }
    if (op.override === 'requested') {
      for (const approver of ['bob', 'alice'] as const) {
        const allowed = rules.approvalAllowed('alice', approver) && overridable;
        steps.push({
          actor: 'operator',
          progress: false,
          label: `operator ${approver} approves the override: ${allowed ? 'accepted' : 'refused'}`,
          next: allowed
            ? setOp(state, index, {
                override: approver === 'bob' ? 'approved' : 'self-approved',
                record: {
                  ...record,
                  overrideFingerprint: FINGERPRINTS[1],
                  overrideAttempt: record.attempt,
                  updatedAt: state.now,
                },
              })
            : setOp(state, index, { override: 'none' }),
        });
      }
    }
  });
  return steps;
}

/**
 * The clock advances one step only when no worker can move without it (time passes while everyone
 * waits, sleeps or is paused), up to the horizon. Expired provider keys are forgotten.
 */
function clockStep(world: World, state: WorldState, steps: readonly Step[]): Step | undefined {
  const horizon = world.config.horizonSteps * STEP_MS;
  if (state.now + STEP_MS > horizon) return undefined;
  if (steps.some((step) => step.progress)) return undefined;
  // Time helps a worker that waits to try again, is paused, or whose hung call may still be renewed or aborted.
  const waiting = state.workers.some(
    ({ phase }) =>
      phase.k === 'idle' ||
      (phase.k === 'holding' && (phase.paused || (phase.at === 'hung' && !phase.lease.lost))),
  );
  if (!waiting) return undefined;
  const now = state.now + STEP_MS;
  const retention = world.config.provider.retentionSteps;
  const ops = state.ops.map((op) => ({
    ...op,
    keys: retention === null ? op.keys : op.keys.filter((entry) => now < entry.since + retention * STEP_MS),
  }));
  return { actor: 'clock', progress: true, label: `time passes: ${when(now)}`, next: { ...state, now, ops } };
}
