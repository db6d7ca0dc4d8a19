import { needsAttention } from '../machine/lapse.ts';
import { RecordState, type IdempotencyRecord } from '../machine/record.ts';
import type { ListCursor, ListFilter, Store } from '../stores/types.ts';

/** One page of records and where the next one starts (null: this was the last). */
export interface RecordPage {
  readonly records: readonly IdempotencyRecord[];
  readonly next: ListCursor | null;
}

const DEFAULT_PAGE = 100;

/** The place in the list order just after `record`: the cursor for the page after it. */
export function cursorAfter(record: IdempotencyRecord): ListCursor {
  return { updatedAt: record.updatedAt, key: record.key };
}

/**
 * One page of `filter`'s records from `after` on, oldest update first, and the cursor of the next
 * page. Stable under concurrent writes: a record that changes moves to the end of the order.
 *
 * @example
 * ```ts
 * let page = await recordPage(store, { states: ['unknown'], limit: 50 });
 * while (page.next !== null) page = await recordPage(store, { states: ['unknown'], limit: 50 }, page.next);
 * ```
 */
export async function recordPage(
  store: Store,
  filter: Omit<ListFilter, 'after'>,
  after?: ListCursor | null,
): Promise<RecordPage> {
  const limit = filter.limit ?? DEFAULT_PAGE;
  const records = await store.list({ ...filter, limit, ...(after == null ? {} : { after }) });
  const last = records.at(-1);
  return { records, next: records.length < limit || last === undefined ? null : cursorAfter(last) };
}

/** Every record of `filter`, page by page (`filter.limit` is the page size). */
export async function* allRecords(
  store: Store,
  filter: Omit<ListFilter, 'after'> = {},
): AsyncGenerator<IdempotencyRecord, void, undefined> {
  let next: ListCursor | null | undefined;
  do {
    const page = await recordPage(store, filter, next);
    yield* page.records;
    next = page.next;
  } while (next !== null);
}

/**
 * A page of the records an operator must look at (`needsAttention`: unknown, or in flight past its
 * lease at `now`), oldest first. The page may hold fewer than `limit` while `next` is not null: live
 * in-flight records are read and left out.
 */
export async function attentionPage(
  store: Store,
  options: { readonly now?: number; readonly limit?: number; readonly operation?: string } = {},
  after?: ListCursor | null,
): Promise<RecordPage> {
  const now = options.now ?? Date.now();
  const page = await recordPage(
    store,
    {
      states: [RecordState.Unknown, RecordState.InFlight],
      limit: options.limit ?? DEFAULT_PAGE,
      ...(options.operation === undefined ? {} : { operation: options.operation }),
    },
    after,
  );
  return { records: page.records.filter((record) => needsAttention(record, now)), next: page.next };
}
