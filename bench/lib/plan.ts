import type { BlockPlan } from './measure.ts';

/** Timed-block plan for side-by-side latency scenarios. */
export function blockPlan(quick: boolean): BlockPlan {
  return quick ? { rounds: 2, blockMs: 300, warmupOps: 20 } : { rounds: 6, blockMs: 2000, warmupOps: 200 };
}

/** Calls in one profiling pass. */
export const profileCalls = (quick: boolean): number => (quick ? 50 : 500);

const fmt = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
export const ms = (n: number): string => `${fmt(n, 3)} ms`;
export const ratio = (n: number): string => `${fmt(n, 2)}×`;
export const perS = (n: number): string => `${fmt(n, 0)}/s`;
