/**
 * A worker process: `node --import tsx chaos/worker/main.ts '<WorkerConfig JSON>'`. Runs the automation
 * (one charge per delivered logical operation, retried on transient errors) through one implementation,
 * reading deliveries from stdin and printing outcomes on stdout.
 */
import './skew.ts';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CallHooks, Impl, TryOutcome } from '../impls/types.ts';
import type { KillPoint } from '../scenario.ts';
import { openImpl } from '../impls/open.ts';
import type { WorkerCommand, WorkerConfig, WorkerEvent } from './protocol.ts';

/** A real kill -9: the process ends here, nothing after it runs, no handler sees it. */
function die(): never {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
}

function emit(event: WorkerEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function hooksFor(impl: Impl, kill: KillPoint | null): CallHooks {
  return {
    beforeCall: () => {
      if (kill === 'before-call') die();
    },
    afterSend: () => {
      // The provider holds this request ~400 ms before its effect: die while it is on the wire.
      if (kill === 'during-call') setTimeout(die, 50);
    },
    afterEffect: (key) => {
      if (kill === 'after-effect') die();
      if (kill === 'during-record') {
        if (impl.armKillDuringRecord !== undefined) impl.armKillDuringRecord(key, die);
        // Implementations without a hook write their record right after the call returns.
        else setImmediate(die);
      }
    },
  };
}

async function deliver(impl: Impl, config: WorkerConfig, command: WorkerCommand): Promise<void> {
  let last: TryOutcome = { status: 'retry', detail: 'not tried' };
  let tries = 0;
  for (; tries < config.maxTries; tries++) {
    // Only the first try of the first delivery carries the planned kill.
    last = await impl.run(command.op, hooksFor(impl, tries === 0 ? command.kill : null));
    if (last.status !== 'retry') break;
    await sleep(Math.min(1_000, 50 * 2 ** tries) + Math.floor(Math.random() * 50));
  }
  const outcome = last.status === 'retry' ? { status: 'gave-up' as const, detail: last.detail } : last;
  emit({
    type: 'done',
    trigger: command.trigger,
    op: command.op,
    outcome,
    tries: Math.min(tries + 1, config.maxTries),
  });
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as WorkerConfig;
  const impl = await openImpl(config);
  emit({ type: 'ready' });
  const running = new Set<Promise<void>>();
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === '') continue;
    const command = JSON.parse(line) as WorkerCommand;
    const task = deliver(impl, config, command).finally(() => running.delete(task));
    running.add(task);
  }
  // stdin closed: finish what runs, then leave.
  await Promise.all(running);
  await impl.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    emit({ type: 'fatal', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exit(1);
  },
);
