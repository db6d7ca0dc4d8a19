import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * A TypeScript child process (`node --import tsx <script>`) that prints one JSON object per line on
 * stdout. Node runs the script itself (no wrapper), so SIGKILL, SIGSTOP and SIGCONT reach it directly.
 */
export class JsonChild<E> {
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #child: ChildProcess;
  #stderr = '';
  #alive = true;

  constructor(
    script: string,
    args: readonly string[],
    onEvent: (event: E) => void,
    env: NodeJS.ProcessEnv = {},
  ) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    if (this.#child.pid === undefined) throw new Error(`could not spawn ${script}`);
    this.pid = this.#child.pid;
    this.exited = new Promise((resolve) => {
      this.#child.once('close', (code, signal) => {
        this.#alive = false;
        resolve({ code, signal });
      });
    });
    this.#child.stdin?.on('error', () => undefined);
    this.#child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
    let pending = '';
    this.#child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        let event: E;
        try {
          event = JSON.parse(line) as E;
        } catch {
          // A line cut short by a kill -9 is not an event.
          continue;
        }
        onEvent(event);
      }
    });
  }

  get alive(): boolean {
    return this.#alive;
  }

  get stderr(): string {
    return this.#stderr;
  }

  send(message: unknown): void {
    if (this.#alive) this.#child.stdin?.write(`${JSON.stringify(message)}\n`);
  }

  /** Closes stdin: a worker finishes what it runs and exits. */
  endInput(): void {
    this.#child.stdin?.end();
  }

  signal(signal: NodeJS.Signals): void {
    if (this.#alive) this.#child.kill(signal);
  }

  /** SIGKILL (ends a stopped process too) and wait for it to be gone. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }
}
