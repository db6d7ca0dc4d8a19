import type { KillPoint } from '../scenario.ts';
import type { ImplConfig, ImplName, TryOutcome } from '../impls/types.ts';

export interface WorkerConfig extends ImplConfig {
  readonly impl: ImplName;
  /** Tries per delivery before the automation gives up on it. */
  readonly maxTries: number;
}

/** A line the harness writes on a worker's stdin. */
export type WorkerCommand = {
  readonly cmd: 'run';
  readonly trigger: string;
  readonly op: string;
  readonly kill: KillPoint | null;
};

/** A line a worker prints. */
export type WorkerEvent =
  | { readonly type: 'ready' }
  | { readonly type: 'fatal'; readonly message: string }
  | {
      readonly type: 'done';
      readonly trigger: string;
      readonly op: string;
      /** The last try's outcome; `gave-up` when every try asked to retry. */
      readonly outcome: TryOutcome | { readonly status: 'gave-up'; readonly detail: string };
      readonly tries: number;
    };
