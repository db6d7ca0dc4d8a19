/** Latency samples (ms) of one implementation, gathered over one or more timed blocks. */
export interface Sample {
  readonly latenciesMs: number[];
  /** Sum of the blocks' wall-clock durations, ms. */
  elapsedMs: number;
  /** Completed operations. */
  ops: number;
}

export function emptySample(): Sample {
  return { latenciesMs: [], elapsedMs: 0, ops: 0 };
}

/** The p-th percentile (0-100) by nearest rank; NaN for no data. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export interface Summary {
  readonly ops: number;
  readonly opsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

export function summarize(sample: Sample): Summary {
  const { latenciesMs, elapsedMs, ops } = sample;
  const mean =
    latenciesMs.length === 0 ? Number.NaN : latenciesMs.reduce((a, b) => a + b, 0) / latenciesMs.length;
  return {
    ops,
    opsPerS: elapsedMs > 0 ? (ops * 1000) / elapsedMs : Number.NaN,
    p50Ms: percentile(latenciesMs, 50),
    p99Ms: percentile(latenciesMs, 99),
    meanMs: mean,
  };
}

/** Rounds to `digits` significant-ish decimals for the report (keeps JSON readable). */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** A high-resolution wall-clock time in ms, comparable between processes on one machine. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}
