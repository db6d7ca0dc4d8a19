import type { ContendReply } from '../lib/contend.ts';
import type { Location } from '../lib/stores.ts';

/** Messages from the benchmark to a worker process. */
export type WorkerRequest =
  | { readonly type: 'open'; readonly location: Location; readonly sleepMs: number }
  | { readonly type: 'contend'; readonly key: string; readonly callers: number; readonly startAt: number }
  | {
      readonly type: 'throughput';
      readonly tag: string;
      readonly startAt: number;
      readonly durationMs: number;
    }
  | { readonly type: 'close' };

export interface ThroughputReply {
  readonly ops: number;
  readonly elapsedMs: number;
  readonly latenciesMs: number[];
}

export type WorkerReply =
  | { readonly type: 'opened' }
  | { readonly type: 'contended'; readonly reply: ContendReply }
  | { readonly type: 'throughput'; readonly reply: ThroughputReply }
  | { readonly type: 'closed' }
  | { readonly type: 'error'; readonly message: string };
