/**
 * A breadth-first explorer, like TLC: every reachable state of a world once (canonical encoding with
 * symmetry reduction), invariants in each, quiescence checks where nothing can move, and the shortest
 * trace to the first violation, replayed step by step in words.
 */
import type { ModelConfig } from './config.ts';
import { quiescenceViolation, stateViolation } from './invariants.ts';
import { RETRYSAFE_RULES, type Rules } from './rules.ts';
import { encode, initialState, type WorldState } from './state.ts';
import { makeWorld, successors, when, type World } from './world.ts';

export interface Violation {
  readonly message: string;
  /** Every step from the initial state to the violation, in words. */
  readonly trace: readonly string[];
}

export interface Exploration {
  readonly config: ModelConfig;
  readonly rules: string;
  /** Distinct states reached (after symmetry reduction). */
  readonly states: number;
  readonly transitions: number;
  /** States where no worker can move and the clock cannot help. */
  readonly quiescent: number;
  readonly maxDepth: number;
  /** The exploration stopped at `maxStates` before it was exhaustive. */
  readonly truncated: boolean;
  readonly ms: number;
  readonly violation: Violation | undefined;
}

export interface ExploreOptions {
  readonly rules?: Rules;
  /** Stop (reporting `truncated`) after this many states. @default 2,000,000 */
  readonly maxStates?: number;
}

export function explore(config: ModelConfig, options: ExploreOptions = {}): Exploration {
  const rules = options.rules ?? RETRYSAFE_RULES;
  const maxStates = options.maxStates ?? 2_000_000;
  const world = makeWorld(config, rules);
  const started = performance.now();
  const initial = initialState(config);
  const initialKey = encode(initial);
  /** Canonical key -> parent key (null for the initial state). */
  const parents = new Map<string, string | null>([[initialKey, null]]);
  let frontier: { key: string; state: WorldState }[] = [{ key: initialKey, state: initial }];
  let transitions = 0;
  let quiescent = 0;
  let depth = 0;
  let truncated = false;

  const result = (violation: Violation | undefined): Exploration => ({
    config,
    rules: rules.name,
    states: parents.size,
    transitions,
    quiescent,
    maxDepth: depth,
    truncated,
    ms: Math.round(performance.now() - started),
    violation,
  });
  const fail = (key: string, message: string, last?: string): Exploration =>
    result({ message, trace: [...replay(world, parents, key), ...(last === undefined ? [] : [last])] });

  const first = stateViolation(world, initial);
  if (first !== undefined) return fail(initialKey, first);

  while (frontier.length > 0) {
    const next: typeof frontier = [];
    for (const { key, state } of frontier) {
      const steps = successors(world, state);
      transitions += steps.length;
      if (!steps.some((step) => step.progress)) {
        quiescent++;
        const broken = quiescenceViolation(world, state);
        if (broken !== undefined) return fail(key, `at quiescence (${when(state.now)}): ${broken}`);
      }
      for (const step of steps) {
        if (step.violation !== undefined)
          return fail(key, step.violation, `${step.label}   <-- ${step.violation}`);
        const childKey = encode(step.next);
        if (parents.has(childKey)) continue;
        parents.set(childKey, key);
        const broken = stateViolation(world, step.next);
        if (broken !== undefined) return fail(childKey, broken);
        next.push({ key: childKey, state: step.next });
        if (parents.size >= maxStates) {
          truncated = true;
          return result(undefined);
        }
      }
    }
    frontier = next;
    if (frontier.length > 0) depth++;
  }
  return result(undefined);
}

/** The steps from the initial state to `target`, found again by following the parent chain. */
function replay(world: World, parents: ReadonlyMap<string, string | null>, target: string): string[] {
  const chain: string[] = [];
  for (let key: string | null = target; key !== null; key = parents.get(key) ?? null) chain.unshift(key);
  let state = initialState(world.config);
  const words: string[] = [];
  for (const key of chain.slice(1)) {
    const step = successors(world, state).find((candidate) => encode(candidate.next) === key);
    if (step === undefined)
      throw new Error('model check: a trace could not be replayed (nondeterministic world)');
    words.push(`[${when(state.now)}] ${step.label}`);
    state = step.next;
  }
  return words;
}

/** A violation as numbered lines, for the console and the docs. */
export function formatViolation(violation: Violation): string {
  return [
    `VIOLATION: ${violation.message}`,
    `shortest trace (${violation.trace.length} steps):`,
    ...violation.trace.map((line, i) => `  ${String(i + 1).padStart(2)}. ${line}`),
  ].join('\n');
}
