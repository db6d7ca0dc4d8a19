import diagnostics from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Operation } from '../../src/index.ts';
import { wallMs } from './stats.ts';
import type { Charge, Receipt } from './workload.ts';

/** One caller's view of a contended key. */
export interface CallerOutcome {
  /** Wall-clock ms when the caller had its result. */
  readonly doneAt: number;
  /** False for the one caller whose call performed the write. */
  readonly replayed: boolean;
}

export interface ContendReply {
  readonly outcomes: CallerOutcome[][];
  /** Wall-clock ms when this process's holder recorded the outcome (`retrysafe:settle`), if it held the key. */
  readonly settledAt: number | undefined;
}

/** Waits until the wall-clock time `at` (shared by every process of a trial). */
export async function until(at: number): Promise<void> {
  const wait = at - wallMs();
  if (wait > 1) await sleep(wait - 1);
  while (wallMs() < at) {
    // The last millisecond is spun: a timer cannot start all processes within it.
  }
}

/**
 * Starts `callers` concurrent calls on `key` through each of `operations` (one per client) at `startAt`
 * and reports when each caller got its result, and when the holder recorded.
 */
export async function contend(
  operations: readonly Operation<Charge, Receipt>[],
  key: string,
  callers: number,
  startAt: number,
): Promise<ContendReply> {
  let settledAt: number | undefined;
  const onSettle = (message: unknown): void => {
    if ((message as { key?: string }).key !== undefined) settledAt ??= wallMs();
  };
  diagnostics.subscribe('retrysafe:settle', onSettle);
  try {
    await until(startAt);
    const outcomes = await Promise.all(
      operations.map((operation) =>
        Promise.all(
          Array.from({ length: callers }, async (): Promise<CallerOutcome> => {
            const answer = await operation({ id: key, amount: 100 });
            return { doneAt: wallMs(), replayed: answer.replayed };
          }),
        ),
      ),
    );
    return { outcomes, settledAt };
  } finally {
    diagnostics.unsubscribe('retrysafe:settle', onSettle);
  }
}
