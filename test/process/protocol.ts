/**
 * What the test process and a worker process say to each other: the worker's configuration (one JSON
 * argument) and the JSON lines it prints on stdout.
 */

export interface WorkerConfig {
  /** `sqlite:<path>`, `postgres:<schema>` or `redis:<key prefix>` (see store-spec.ts). */
  readonly store: string;
  readonly namespace: string;
  /** Base URL of the ledger server. */
  readonly server: string;
  /** Logical operation ids to run, in this order. */
  readonly ids: readonly string[];
  /** How many ids run at once. @default 1 */
  readonly concurrency?: number;
  /** Declare a lookup against the ledger server (reconciliation). @default false */
  readonly lookup?: boolean;
  readonly leaseMs?: number;
  readonly waitMs?: number;
  /** Print `ready`, then wait for a `go` line on stdin before running (lines up a race). @default false */
  readonly waitForGo?: boolean;
  /**
   * After this many `RS_STORE_UNAVAILABLE` errors, take no further ids: the run gives up while its store
   * is down, as a cron job would, and leaves the rest to the next run. @default never
   */
  readonly stopAfterUnavailable?: number;
}

/** The part of a stored record a worker reports with an error. */
export interface ReportedRecord {
  readonly state: string;
  readonly attempt: number;
  readonly generation: number;
}

export type WorkerEvent =
  | { readonly type: 'ready'; readonly pid: number }
  /** The wrapped call is about to send its request. */
  | { readonly type: 'calling'; readonly id: string; readonly attempt: number }
  | {
      readonly type: 'result';
      readonly id: string;
      readonly value: unknown;
      readonly replayed: boolean;
      readonly reconciled: boolean;
      readonly attempt: number;
      readonly generation: number;
      readonly key: string;
      readonly providerKey: string;
    }
  | {
      readonly type: 'error';
      readonly id: string;
      /** The `RS_*` code, or `UNEXPECTED` for anything that is not a retrysafe error. */
      readonly code: string;
      readonly name: string;
      readonly message: string;
      readonly record: ReportedRecord | null;
    }
  | { readonly type: 'done' };

export type ResultEvent = Extract<WorkerEvent, { type: 'result' }>;
export type ErrorEvent = Extract<WorkerEvent, { type: 'error' }>;

/** Parses one stdout line; anything that is not a worker event is returned as undefined. */
export function parseEvent(line: string): WorkerEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as { type?: unknown };
    return typeof value.type === 'string' ? (value as WorkerEvent) : undefined;
  } catch {
    return undefined;
  }
}
