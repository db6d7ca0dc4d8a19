import { createHash } from 'node:crypto';
import { seededRng } from './rng.ts';

/** Where a worker kills itself with SIGKILL (a real `kill -9`: nothing runs after it). */
export const KILL_POINTS = ['before-call', 'during-call', 'after-effect', 'during-record'] as const;
export type KillPoint = (typeof KILL_POINTS)[number];

/**
 * What the downstream API does with the n-th request of an operation.
 * - `ok`: apply the effect, answer 200.
 * - `slow` / `slow-long`: wait 20-150 ms / 400 ms, then as `ok`.
 * - `reset-after-effect`: apply the effect, then reset the connection (the response is lost).
 * - `timeout-after-effect`: apply the effect, answer after the client's timeout.
 * - `500-before-effect` / `500-after-effect`: a 500 with no guarantee either way (unknown to the caller).
 * - `503-no-effect` / `409-in-progress`: answers that guarantee nothing happened ("retry later").
 * - `hold-for-stop`: apply the effect, announce it, answer late: the harness freezes the caller meanwhile.
 * - `hang-before-effect` / `hang-after-effect` (strict provider modes only): never answer, before or
 *   after applying the effect; the connection stays open until the client gives up.
 */
export const FAULTS = [
  'ok',
  'slow',
  'slow-long',
  'reset-after-effect',
  'timeout-after-effect',
  '500-before-effect',
  '500-after-effect',
  '503-no-effect',
  '409-in-progress',
  'hold-for-stop',
  'hang-before-effect',
  'hang-after-effect',
] as const;
export type Fault = (typeof FAULTS)[number];

export interface Trigger {
  /** Unique per delivery of a logical operation: `t<n>`, redeliveries get `t<n>r<k>`. */
  readonly id: string;
  readonly op: string;
  /** The worker that runs this delivery kills itself here (first delivery only). */
  readonly kill: KillPoint | null;
}

export interface Scenario {
  readonly seed: number;
  /** Every logical operation the workload means to perform once. */
  readonly ops: readonly string[];
  /** Per operation, the fault of its 1st, 2nd, ... request (then `ok`). */
  readonly faults: Readonly<Record<string, readonly Fault[]>>;
  /** Groups of deliveries dispatched at the same moment (a group of 2-3 is a concurrent duplicate trigger). */
  readonly groups: readonly (readonly Trigger[])[];
  /** Operations whose caller is frozen (SIGSTOP) past its lease, then resumed (SIGCONT). */
  readonly stops: readonly string[];
  /** Deliveries of already finished operations, replayed after every first delivery is done. */
  readonly lateReplays: readonly Trigger[];
  /** Clock offset (ms) of worker slot i: a worker shifts its own `Date.now` by this much. */
  readonly workerSkewMs: readonly number[];
  /** Restart the store's server after this share of the groups was dispatched (null: no restart). */
  readonly storeRestartAt: number | null;
}

/** Share of operations that get each kind of fault. Tuned so a few hundred operations see every kind. */
export const MIX = {
  kill: 0.03,
  stop: 0.012,
  duplicateTrigger: 0.05,
  lateReplay: 0.05,
  faults: {
    slow: 0.05,
    'reset-after-effect': 0.04,
    'timeout-after-effect': 0.03,
    '500-before-effect': 0.03,
    '500-after-effect': 0.03,
    '503-no-effect': 0.03,
    '409-in-progress': 0.03,
  } satisfies Partial<Record<Fault, number>>,
  /** Chance that a faulted operation's second request is faulted too. */
  secondFault: 0.2,
  /** Strict provider modes: share of otherwise unfaulted operations whose first request is never answered. */
  hang: 0.03,
} as const;

export interface ScenarioOptions {
  readonly seed: number;
  readonly ops: number;
  readonly workers: number;
  readonly leaseMs: number;
  /** Whether the store has a server to restart. */
  readonly restartable: boolean;
  /**
   * Add never-answered requests (strict provider modes). They are drawn from a second generator, so the
   * rest of the schedule is the same as without them. @default false
   */
  readonly hangs?: boolean;
}

function pickFault(roll: number): Fault {
  let edge = 0;
  for (const [fault, share] of Object.entries(MIX.faults)) {
    edge += share;
    if (roll < edge) return fault as Fault;
  }
  return 'ok';
}

/** Builds the fault schedule of a run from its seed alone. */
export function generateScenario(options: ScenarioOptions): Scenario {
  const rng = seededRng(options.seed);
  const ops: string[] = [];
  const faults: Record<string, Fault[]> = {};
  const groups: Trigger[][] = [];
  const stops: string[] = [];
  const lateReplays: Trigger[] = [];
  let triggerCount = 0;
  const trigger = (op: string, kill: KillPoint | null): Trigger => ({ id: `t${++triggerCount}`, op, kill });

  for (let i = 0; i < options.ops; i++) {
    const op = `op-${String(i).padStart(6, '0')}`;
    ops.push(op);
    const plan: Fault[] = [];
    let kill: KillPoint | null = null;
    if (rng.chance(MIX.kill)) {
      kill = rng.pick(KILL_POINTS);
      // A kill during the call needs a call that lasts long enough to be killed in.
      if (kill === 'during-call') plan.push('slow-long');
    } else if (rng.chance(MIX.stop / (1 - MIX.kill))) {
      stops.push(op);
      plan.push('hold-for-stop');
    } else {
      const first = pickFault(rng.next());
      if (first !== 'ok') {
        plan.push(first);
        if (rng.chance(MIX.secondFault)) plan.push(pickFault(rng.next()));
      }
    }
    if (plan.length > 0) faults[op] = plan;
    const copies = rng.chance(MIX.duplicateTrigger) ? rng.int(2, 3) : 1;
    groups.push(Array.from({ length: copies }, (_, n) => trigger(op, n === 0 ? kill : null)));
    if (rng.chance(MIX.lateReplay)) lateReplays.push(trigger(op, null));
  }

  if (options.hangs === true) {
    const hangRng = seededRng(options.seed ^ 0x4a4e47);
    const stopped = new Set(stops);
    const killed = new Set(groups.flatMap((group) => group.filter((t) => t.kill !== null).map((t) => t.op)));
    for (const op of ops) {
      const roll = hangRng.next();
      const before = hangRng.chance(0.5);
      if (faults[op] !== undefined || stopped.has(op) || killed.has(op) || roll >= MIX.hang) continue;
      faults[op] = [before ? 'hang-before-effect' : 'hang-after-effect'];
    }
  }

  const skew = 2 * options.leaseMs;
  const workerSkewMs = Array.from({ length: options.workers }, (_, slot) =>
    slot % 3 === 1 ? skew : slot % 3 === 2 ? -skew : 0,
  );
  return {
    seed: options.seed,
    ops,
    faults,
    groups,
    stops,
    lateReplays,
    workerSkewMs,
    storeRestartAt: options.restartable ? 0.5 : null,
  };
}

/** Counts of each injected fault, for the report. */
export function scenarioMix(scenario: Scenario): Record<string, number> {
  const mix: Record<string, number> = {};
  const add = (name: string, n = 1): void => {
    mix[name] = (mix[name] ?? 0) + n;
  };
  for (const plan of Object.values(scenario.faults)) {
    for (const fault of plan)
      if (!['ok', 'slow-long', 'hold-for-stop'].includes(fault)) add(`provider ${fault}`);
  }
  for (const group of scenario.groups) {
    for (const t of group) if (t.kill !== null) add(`kill -9 ${t.kill}`);
    if (group.length > 1) add('concurrent duplicate trigger');
  }
  add('SIGSTOP past the lease, then SIGCONT', scenario.stops.length);
  add('late replay', scenario.lateReplays.length);
  add('skewed worker slots', scenario.workerSkewMs.filter((s) => s !== 0).length);
  if (scenario.storeRestartAt !== null) add('store server restart');
  return mix;
}

/** A short digest of the full schedule, so two runs can be compared at a glance. */
export function scenarioDigest(scenario: Scenario): string {
  return createHash('sha256').update(JSON.stringify(scenario)).digest('hex').slice(0, 16);
}
