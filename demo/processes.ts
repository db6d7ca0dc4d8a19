import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A TypeScript child process of the demo that speaks JSON lines on stdout. */
export interface Child<E> {
  readonly label: string;
  readonly pid: number | undefined;
  /** Every event printed so far. */
  readonly events: readonly E[];
  readonly exited: Promise<Exit>;
  /** Resolves with the first event (past or future) that matches; rejects on exit or timeout. */
  waitFor<M extends E>(match: (event: E) => event is M, timeoutMs: number): Promise<M>;
  /** Resolves once the process exited with code 0; rejects otherwise or on timeout. */
  finished(timeoutMs: number): Promise<void>;
  send(line: string): void;
  kill(signal: NodeJS.Signals): void;
  /** Closes stdin (the child exits on it) and kills it if it lingers. */
  stop(): Promise<void>;
}

/** Starts `demo/<script>` with tsx. */
export function startChild<E>(script: string, args: readonly string[], label: string): Child<E> {
  const proc: ChildProcess = spawn(process.execPath, ['--import', 'tsx', `demo/${script}`, ...args], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const events: E[] = [];
  const listeners = new Set<() => void>();
  let stderr = '';
  let exit: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => {
    proc.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
      for (const listener of listeners) listener();
    });
  });
  proc.stdin?.on('error', () => {
    // The child may be gone already (killed); its exit is reported through `exited`.
  });
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  if (proc.stdout !== null) {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      try {
        events.push(JSON.parse(line) as E);
      } catch {
        stderr += `(non-JSON stdout) ${line}\n`;
      }
      for (const listener of listeners) listener();
    });
  }

  const describeExit = (): string =>
    `${label} exited (code ${String(exit?.code)}, signal ${String(exit?.signal)})` +
    (stderr === '' ? '' : `:\n${stderr.trim()}`);

  function waitFor<M extends E>(match: (event: E) => event is M, timeoutMs: number): Promise<M> {
    return new Promise<M>((resolve, reject) => {
      const check = (): void => {
        const found = events.find(match);
        if (found !== undefined)
          done(() => {
            resolve(found);
          });
        else if (exit !== undefined)
          done(() => {
            reject(new Error(`${describeExit()} before the expected event`));
          });
      };
      const timer = setTimeout(() => {
        done(() => {
          reject(new Error(`${label}: no expected event within ${timeoutMs} ms`));
        });
      }, timeoutMs);
      const done = (settle: () => void): void => {
        clearTimeout(timer);
        listeners.delete(check);
        settle();
      };
      listeners.add(check);
      check();
    });
  }

  async function finished(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`${label} did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      const result = await Promise.race([exited, timeout]);
      if (result.code !== 0) throw new Error(describeExit());
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    label,
    pid: proc.pid,
    events,
    exited,
    waitFor,
    finished,
    send: (line) => {
      proc.stdin?.write(`${line}\n`);
    },
    kill: (signal) => {
      if (exit === undefined) proc.kill(signal);
    },
    stop: async () => {
      if (exit !== undefined) return;
      proc.stdin?.end();
      const timer = setTimeout(() => {
        if (exit === undefined) proc.kill('SIGKILL');
      }, 2000);
      await exited;
      clearTimeout(timer);
    },
  };
}
