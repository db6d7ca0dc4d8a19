import type { IdempotencyRecord, OverrideRequest, RecordState } from '../../machine/record.ts';
import type {
  CountFilter,
  GcOptions,
  GcSummary,
  ListCursor,
  ListFilter,
  OldestEntry,
  RecordCounts,
} from '../types.ts';
import { BUCKETS, bucketKeys, decodeRecord, STATES } from './layout.ts';
import type { Scripts } from './scripts.ts';

/**
 * Queries that span keys. Redis Cluster cannot keep one index across slots, so each of the `BUCKETS`
 * hash-tag buckets keeps its own indexes (maintained by the transition scripts in the same atomic
 * step) and these functions visit every bucket: one short script per bucket and page.
 */

const DEFAULT_LIMIT = 100;
const DEFAULT_GC_BATCH = 500;
/** Index entries one list script may inspect per state before handing back a cursor. */
const LIST_BUDGET = 1000;
const ALL_BUCKETS = Array.from({ length: BUCKETS }, (_, bucket) => bucket);

interface Source {
  readonly bucket: number;
  readonly state: RecordState;
  offset: number;
  want: number;
  buffer: IdempotencyRecord[];
  done: boolean;
}

/** Records matching `filter`, oldest update first: a k-way merge of per-bucket, per-state pages. */
export async function listRecords(
  scripts: Scripts,
  prefix: string,
  filter: ListFilter,
): Promise<IdempotencyRecord[]> {
  const limit = filter.limit ?? DEFAULT_LIMIT;
  const after = filter.after;
  const states = [...new Set(filter.states ?? STATES)];
  if (limit <= 0 || states.length === 0) return [];
  // Small first pages: most buckets contribute little to the oldest `limit` records.
  const firstPage = Math.min(limit, Math.max(4, Math.ceil((2 * limit) / (BUCKETS * states.length))));
  const sources = ALL_BUCKETS.flatMap((bucket) =>
    states.map((state): Source => ({ bucket, state, offset: 0, want: firstPage, buffer: [], done: false })),
  );
  const fetchPages = async (bucket: number, needy: Source[]): Promise<void> => {
    const keys = bucketKeys(prefix, bucket);
    const args: (string | number)[] = [
      keys.base,
      filter.operation ?? '',
      filter.updatedBefore === undefined ? '' : Math.ceil(filter.updatedBefore),
      LIST_BUDGET,
      after === undefined ? '' : after.updatedAt,
      after === undefined ? '' : after.key,
    ];
    for (const source of needy) args.push(source.state, source.offset, source.want);
    const reply = (await scripts.run('list', keys.states, args)) as unknown[][];
    needy.forEach((source, index) => {
      const [next, ...records] = reply[index] ?? [-1];
      source.buffer.push(...records.map((flat) => decodeRecord(flat) as IdempotencyRecord));
      if (Number(next) < 0) source.done = true;
      else source.offset = Number(next);
      source.want = Math.min(limit, source.want * 2);
    });
  };
  const refill = async (needy: Source[]): Promise<void> => {
    const byBucket = new Map<number, Source[]>();
    for (const source of needy) byBucket.set(source.bucket, [...(byBucket.get(source.bucket) ?? []), source]);
    await Promise.all([...byBucket].map(([bucket, group]) => fetchPages(bucket, group)));
  };

  const out: IdempotencyRecord[] = [];
  const seen = new Set<string>();
  await refill(sources);
  while (out.length < limit) {
    const needy = sources.filter((source) => source.buffer.length === 0 && !source.done);
    if (needy.length > 0) {
      await refill(needy);
      continue;
    }
    let best: Source | undefined;
    for (const source of sources) {
      const head = source.buffer[0];
      if (head === undefined) continue;
      const bestHead = best?.buffer[0];
      if (bestHead === undefined || compare(head, bestHead) < 0) best = source;
    }
    const record = best?.buffer.shift();
    if (record === undefined) break;
    // A record that changed state while we listed can sit in two indexes: list it once.
    if (seen.has(record.key)) continue;
    // The index entry's score is the record's updatedAt; checked again on the record itself.
    if (after !== undefined && compare(record, after) <= 0) continue;
    seen.add(record.key);
    out.push(record);
  }
  return out;
}

/**
 * Counts of every bucket, summed: one `count` script per bucket (its indexes answer, see count.lua).
 */
export async function countRecords(
  scripts: Scripts,
  prefix: string,
  filter: CountFilter,
): Promise<RecordCounts> {
  const states = [...new Set(filter.states ?? STATES)];
  const byState: Partial<Record<RecordState, number>> = {};
  for (const state of states) byState[state] = 0;
  const byOperation: Record<string, Partial<Record<RecordState, number>>> = {};
  const oldest: Partial<Record<RecordState, OldestEntry>> = {};
  let lapsed = 0;
  if (states.length > 0) {
    const replies = await Promise.all(
      ALL_BUCKETS.map(async (bucket) => {
        const keys = bucketKeys(prefix, bucket);
        const args: (string | number)[] = [
          keys.base,
          filter.operation ?? '',
          filter.updatedBefore === undefined ? '' : Math.ceil(filter.updatedBefore),
          filter.byOperation === true ? '1' : '',
          filter.lapsedAt === undefined ? '' : Math.floor(filter.lapsedAt),
          ...states,
        ];
        return (await scripts.run('count', keys.states, args)) as [
          number,
          string,
          string,
          number,
          string[],
          string,
        ][];
      }),
    );
    for (const reply of replies) {
      states.forEach((state, index) => {
        const entry: readonly unknown[] = reply[index] ?? [];
        const [count, score, key, lapsedHere, perOperationReply, operation] = entry;
        const perOperation = Array.isArray(perOperationReply) ? (perOperationReply as unknown[]) : [];
        byState[state] = (byState[state] ?? 0) + Number(count);
        lapsed += Number(lapsedHere);
        for (let i = 0; i + 1 < perOperation.length; i += 2) {
          const counts = (byOperation[String(perOperation[i])] ??= {});
          counts[state] = (counts[state] ?? 0) + Number(perOperation[i + 1]);
        }
        if (score === '' || score === undefined) return;
        const candidate = {
          updatedAt: Number(score),
          key: String(key),
          operation: typeof operation === 'string' ? operation : '',
        };
        const known = oldest[state];
        if (known === undefined || compare(candidate, known) < 0) oldest[state] = candidate;
      });
    }
  }
  return {
    byState,
    ...(filter.byOperation === true ? { byOperation } : {}),
    ...(filter.lapsedAt === undefined ? {} : { lapsedInFlight: lapsed }),
    oldest,
  };
}

function compare(a: ListCursor, b: ListCursor): number {
  return a.updatedAt - b.updatedAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/**
 * Compacts records past their TTL, then deletes those past their tombstone, in batches of at most
 * `batchSize` records (a batch may take several short scripts when it spans buckets).
 */
export async function collectGarbage(
  scripts: Scripts,
  prefix: string,
  options: GcOptions = {},
): Promise<GcSummary> {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_GC_BATCH));
  const maxBatches = options.maxBatches ?? Number.POSITIVE_INFINITY;
  const compacted = await sweep(batchSize, maxBatches, async (bucket, room) => {
    const keys = bucketKeys(prefix, bucket);
    return scripts.run('compact', [keys.compaction], [keys.base, room]);
  });
  const deleted = await sweep(batchSize, maxBatches, async (bucket, room) => {
    const keys = bucketKeys(prefix, bucket);
    return scripts.run(
      'delete',
      [keys.deletion, keys.compaction, ...keys.states, keys.overrides],
      [keys.base, room],
    );
  });
  return { compacted, deleted };
}

async function sweep(
  batchSize: number,
  maxBatches: number,
  step: (bucket: number, room: number) => Promise<unknown>,
): Promise<number> {
  let total = 0;
  let bucket = 0;
  for (let batch = 0; batch < maxBatches && bucket < BUCKETS; batch++) {
    let room = batchSize;
    while (room > 0 && bucket < BUCKETS) {
      const asked = room;
      const [done, inspected] = (await step(bucket, asked)) as [number, number];
      total += done;
      room -= done;
      // Fewer entries than asked for: this bucket has nothing more that is due.
      if (inspected < asked) bucket++;
    }
  }
  return total;
}

/** Override requests of every bucket. */
export async function listAllOverrides(scripts: Scripts, prefix: string): Promise<OverrideRequest[]> {
  const replies = await Promise.all(
    ALL_BUCKETS.map((bucket) => scripts.run('overrides', [bucketKeys(prefix, bucket).overrides], [''])),
  );
  return replies.flatMap((reply) => (reply as string[]).map(decodeOverride));
}

/** The override request with this id, wherever its key lives. */
export async function findOverride(
  scripts: Scripts,
  prefix: string,
  id: string,
): Promise<OverrideRequest | undefined> {
  const replies = await Promise.all(
    ALL_BUCKETS.map((bucket) => scripts.run('find-override', [bucketKeys(prefix, bucket).overrides], [id])),
  );
  const found = replies.find((reply): reply is string => typeof reply === 'string');
  return found === undefined ? undefined : decodeOverride(found);
}

export function decodeOverride(json: string): OverrideRequest {
  const raw = JSON.parse(json) as Partial<Record<keyof OverrideRequest, unknown>>;
  return {
    id: String(raw.id),
    key: String(raw.key),
    fingerprint: String(raw.fingerprint),
    generation: Number(raw.generation),
    // Requests made before attempts and payloads were stored knew only their generation.
    attempt: typeof raw.attempt === 'number' ? raw.attempt : 0,
    payload: typeof raw.payload === 'string' ? raw.payload : null,
    requestedBy: String(raw.requestedBy),
    reason: String(raw.reason),
    requestedAt: Number(raw.requestedAt),
    approvedBy: typeof raw.approvedBy === 'string' ? raw.approvedBy : null,
    approvedAt: typeof raw.approvedAt === 'number' ? raw.approvedAt : null,
    status: raw.status as OverrideRequest['status'],
  };
}

export function byRequestTime(a: OverrideRequest, b: OverrideRequest): number {
  return a.requestedAt - b.requestedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
