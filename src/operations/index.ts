/**
 * Operating on a store as a whole: stats from counts, pages of records by cursor, the records that
 * need attention. Used by the CLI and ready for a console; built on the `Store` interface only.
 */
export { storeStats, statsFromCounts, type OldestRecord, type StoreStats } from './stats.ts';
export { allRecords, attentionPage, cursorAfter, recordPage, type RecordPage } from './pages.ts';
