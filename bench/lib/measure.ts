import { emptySample, type Sample } from './stats.ts';

/** One implementation under measurement: `op(i)` performs the i-th operation (a fresh key per i, say). */
export interface Contender {
  readonly name: string;
  readonly op: (i: number) => Promise<unknown>;
}

export interface BlockPlan {
  /** Alternating rounds: each round runs one block of every contender, in rotating order. */
  readonly rounds: number;
  /** Wall-clock length of one block. */
  readonly blockMs: number;
  /** Operations per contender before the first round, not recorded. */
  readonly warmupOps: number;
  /** Upper bound on operations in one block (guards very fast paths). */
  readonly maxOpsPerBlock?: number;
}

/**
 * Runs every contender sequentially (one operation at a time) in alternating timed blocks, so that
 * slow drifts of a busy machine hit all of them alike. Operation indices never repeat per contender.
 */
export async function alternate(
  contenders: readonly Contender[],
  plan: BlockPlan,
): Promise<Map<string, Sample>> {
  const samples = new Map<string, Sample>();
  const next = new Map<string, number>();
  for (const contender of contenders) {
    samples.set(contender.name, emptySample());
    let i = 0;
    for (; i < plan.warmupOps; i++) await contender.op(i);
    next.set(contender.name, i);
  }
  for (let round = 0; round < plan.rounds; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const contender = contenders[(round + k) % contenders.length];
      if (contender === undefined) continue;
      const sample = samples.get(contender.name) ?? emptySample();
      const start = next.get(contender.name) ?? 0;
      const done = await block(contender, start, plan, sample);
      next.set(contender.name, start + done);
    }
  }
  return samples;
}

async function block(contender: Contender, start: number, plan: BlockPlan, sample: Sample): Promise<number> {
  const max = plan.maxOpsPerBlock ?? Number.POSITIVE_INFINITY;
  const begin = performance.now();
  const end = begin + plan.blockMs;
  let done = 0;
  let now = begin;
  while (now < end && done < max) {
    const t0 = performance.now();
    await contender.op(start + done);
    now = performance.now();
    sample.latenciesMs.push(now - t0);
    done++;
  }
  sample.elapsedMs += now - begin;
  sample.ops += done;
  return done;
}

/** Runs `op` sequentially `count` times and returns the sample. */
export async function sequential(count: number, op: (i: number) => Promise<unknown>): Promise<Sample> {
  const sample = emptySample();
  const begin = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await op(i);
    sample.latenciesMs.push(performance.now() - t0);
  }
  sample.elapsedMs = performance.now() - begin;
  sample.ops = count;
  return sample;
}

/** Runs `op` for `count` indices with at most `concurrency` in flight; returns when all are done. */
export async function pool(
  count: number,
  concurrency: number,
  op: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await op(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** `concurrency` loops each calling `op` one at a time with fresh indices, for `durationMs`. */
export async function timedConcurrent(
  concurrency: number,
  durationMs: number,
  op: (i: number) => Promise<unknown>,
): Promise<Sample> {
  const sample = emptySample();
  let next = 0;
  const begin = performance.now();
  const end = begin + durationMs;
  const loop = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await op(next++);
      sample.latenciesMs.push(performance.now() - t0);
      sample.ops++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  sample.elapsedMs = performance.now() - begin;
  return sample;
}
