import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerReply, WorkerRequest } from '../workers/protocol.ts';

const WORKER = fileURLToPath(new URL('../workers/worker.ts', import.meta.url));

/** A worker process that answers one request at a time. */
export interface Worker {
  request<T extends WorkerReply['type']>(
    message: WorkerRequest,
    expect: T,
  ): Promise<Extract<WorkerReply, { type: T }>>;
  close(): Promise<void>;
}

export function startWorker(): Worker {
  const child: ChildProcess = fork(WORKER, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  let failure: Error | undefined;
  child.once('error', (error) => {
    failure = error;
  });
  return {
    request: (message, expect) =>
      new Promise((resolve, reject) => {
        if (failure !== undefined) {
          reject(failure);
          return;
        }
        const onExit = (): void => {
          reject(new Error('worker exited before answering'));
        };
        child.once('exit', onExit);
        child.once('message', (answer: WorkerReply) => {
          child.off('exit', onExit);
          if (answer.type === 'error') reject(new Error(`worker: ${answer.message}`));
          else if (answer.type !== expect)
            reject(new Error(`worker answered ${answer.type}, expected ${expect}`));
          else resolve(answer as Extract<WorkerReply, { type: typeof expect }>);
        });
        child.send(message);
      }),
    close: async () => {
      if (child.exitCode === null && child.connected) {
        child.send({ type: 'close' } satisfies WorkerRequest);
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
        }, 10_000);
        await exited;
        clearTimeout(timer);
      } else if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Starts `count` workers, all opened on `open`. */
export async function startWorkers(count: number, open: WorkerRequest): Promise<Worker[]> {
  const workers = Array.from({ length: count }, startWorker);
  try {
    await Promise.all(workers.map((worker) => worker.request(open, 'opened')));
    return workers;
  } catch (error) {
    await Promise.all(workers.map((worker) => worker.close()));
    throw error;
  }
}
