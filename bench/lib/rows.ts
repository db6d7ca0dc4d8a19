/** The stores a scenario can run on. */
export const STORE_KINDS = ['sqlite', 'postgres', 'redis'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

/** Extra numbers a row carries besides throughput and latency (records loaded, bytes, workers...). */
export type Extra = Readonly<Record<string, number | string | boolean | null>>;

/**
 * One line of `bench/results.json`. Fields that do not apply to a row are `null`, never missing, so
 * every row has the same shape.
 */
export interface Row {
  readonly scenario: string;
  /** What was measured within the scenario: `fresh key`, `replay`, `10000 records`, ... */
  readonly case: string;
  /** `retrysafe`, `floor`, or a peer library. */
  readonly impl: string;
  readonly store: string;
  /** The downstream call wrapped in each operation (`no-op`, `sleep 20 ms`, ...), or `none`. */
  readonly downstream: string;
  readonly ops_per_s: number | null;
  readonly p50_ms: number | null;
  readonly p99_ms: number | null;
  /** Mean cost relative to the floor measured in the same run (floor ops/s over this row's ops/s). */
  readonly ratio_to_floor: number | null;
  /** A guarantee the implementation lacks, or how to read the number. */
  readonly note: string | null;
  readonly extra: Extra;
}

export const ROW_KEYS = [
  'scenario',
  'case',
  'impl',
  'store',
  'downstream',
  'ops_per_s',
  'p50_ms',
  'p99_ms',
  'ratio_to_floor',
  'note',
  'extra',
] as const satisfies readonly (keyof Row)[];

/** Builds a row, filling what does not apply with `null` and rounding numbers for the report. */
export function row(
  fields: Pick<Row, 'scenario' | 'case' | 'impl' | 'store' | 'downstream'> & Partial<Row>,
): Row {
  return {
    scenario: fields.scenario,
    case: fields.case,
    impl: fields.impl,
    store: fields.store,
    downstream: fields.downstream,
    ops_per_s: tidy(fields.ops_per_s, 1),
    p50_ms: tidy(fields.p50_ms, 3),
    p99_ms: tidy(fields.p99_ms, 3),
    ratio_to_floor: tidy(fields.ratio_to_floor, 3),
    note: fields.note ?? null,
    extra: fields.extra ?? {},
  };
}

function tidy(value: number | null | undefined, digits: number): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

const isText = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isMetric = (value: unknown): boolean =>
  value === null || (typeof value === 'number' && Number.isFinite(value) && value >= 0);

/** Problems with a parsed row (empty when it is well-formed). */
export function rowProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['not an object'];
  const record = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(record)) {
    if (!(ROW_KEYS as readonly string[]).includes(key)) problems.push(`unexpected field ${key}`);
  }
  for (const key of ['scenario', 'case', 'impl', 'store', 'downstream'] as const) {
    if (!isText(record[key])) problems.push(`${key} must be a non-empty string`);
  }
  for (const key of ['ops_per_s', 'p50_ms', 'p99_ms', 'ratio_to_floor'] as const) {
    if (!(key in record) || !isMetric(record[key]))
      problems.push(`${key} must be null or a finite number >= 0`);
  }
  if (!('note' in record) || !(record['note'] === null || isText(record['note']))) {
    problems.push('note must be null or a non-empty string');
  }
  const extra = record['extra'];
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra))
    problems.push('extra must be an object');
  const p50 = record['p50_ms'];
  const p99 = record['p99_ms'];
  if (typeof p50 === 'number' && typeof p99 === 'number' && p99 < p50)
    problems.push('p99_ms is below p50_ms');
  return problems;
}
