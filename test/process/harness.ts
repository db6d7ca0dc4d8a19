import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  parseEvent,
  type ErrorEvent,
  type ResultEvent,
  type WorkerConfig,
  type WorkerEvent,
} from './protocol.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
/** Bound on any single wait for a worker, so a hung child fails its test instead of hanging the suite. */
export const DEFAULT_WAIT_MS = 20_000;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

interface Waiter {
  readonly predicate: (event: WorkerEvent) => boolean;
  readonly resolve: (event: WorkerEvent) => void;
}

/** One worker child process (`node --import tsx worker.ts`), its events and the signals to send it. */
export class WorkerProcess {
  readonly name: string;
  readonly pid: number;
  /** Every event the worker printed so far, in order. */
  readonly events: WorkerEvent[] = [];
  /** Resolves when the process has exited, however it ended. */
  readonly exited: Promise<Exit>;
  readonly #child: ChildProcess;
  readonly #waiters = new Set<Waiter>();
  #stderr = '';
  #exit: Exit | undefined;

  constructor(name: string, config: WorkerConfig) {
    this.name = name;
    // Node runs the worker itself (no wrapper process), so signals reach it directly.
    this.#child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config)], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (this.#child.pid === undefined) throw new Error(`could not spawn worker ${name}`);
    this.pid = this.#child.pid;
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': by then every line the worker printed has been read and parsed.
      this.#child.once('close', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
    // A killed child's stdin breaks; that is expected and not an error of the test.
    this.#child.stdin?.on('error', () => undefined);
    this.#child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-8000);
    });
    let pending = '';
    this.#child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        this.#line(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
    });
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** Results by id (the last one if an id ran more than once). */
  results(): Map<string, ResultEvent> {
    const results = new Map<string, ResultEvent>();
    for (const event of this.events) if (event.type === 'result') results.set(event.id, event);
    return results;
  }

  errors(): ErrorEvent[] {
    return this.events.filter((event): event is ErrorEvent => event.type === 'error');
  }

  /** Resolves with the first event (already seen or still to come) that matches, or rejects on timeout or exit. */
  async waitFor<E extends WorkerEvent>(
    predicate: (event: WorkerEvent) => event is E,
    what: string,
    timeoutMs = DEFAULT_WAIT_MS,
  ): Promise<E> {
    const seen = this.events.find(predicate);
    if (seen !== undefined) return seen;
    let waiter: Waiter | undefined;
    const event = new Promise<E>((resolve) => {
      waiter = { predicate, resolve: resolve as (event: WorkerEvent) => void };
      this.#waiters.add(waiter);
    });
    try {
      return await this.whileAlive(event, `reporting ${what}`, timeoutMs, () => this.events.find(predicate));
    } finally {
      if (waiter !== undefined) this.#waiters.delete(waiter);
    }
  }

  /**
   * Waits for something the worker should cause (its request reaching the server, an event): rejects
   * when the worker exits first or `timeoutMs` passes, with the worker's stderr in the message.
   */
  async whileAlive<T>(
    promise: Promise<T>,
    what: string,
    timeoutMs = DEFAULT_WAIT_MS,
    lastLook: () => T | undefined = () => undefined,
  ): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        promise,
        this.exited.then((exit) => {
          // It may have done it just before exiting: every line is parsed by now, so look once more.
          const late = lastLook();
          if (late !== undefined) return late;
          throw this.#failure(`exited (${describeExit(exit)}) before ${what}`);
        }),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => {
            reject(this.#failure(`gave no sign of ${what} within ${timeoutMs} ms`));
          }, timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits for the worker to exit on its own; rejects (without killing it) on timeout. */
  async waitForExit(timeoutMs = DEFAULT_WAIT_MS): Promise<Exit> {
    return this.whileAlive(this.exited, 'exiting', timeoutMs, () => this.#exit);
  }

  /** Waits for a clean exit (code 0) and returns the events; anything else fails with the worker's stderr. */
  async finished(timeoutMs = DEFAULT_WAIT_MS): Promise<WorkerEvent[]> {
    const exit = await this.waitForExit(timeoutMs);
    if (exit.code !== 0) throw this.#failure(`ended with ${describeExit(exit)}`);
    return this.events;
  }

  /** Lets a worker started with `waitForGo` run. */
  go(): void {
    this.#child.stdin?.write('go\n');
  }

  /** `kill -9`: the process ends at once, with no chance to record anything. */
  async kill9(): Promise<Exit> {
    if (this.running) this.#child.kill('SIGKILL');
    return this.waitForExit();
  }

  /** SIGSTOP: the process freezes (timers, heartbeats, sockets) until `resume`. */
  pause(): void {
    this.#signal('SIGSTOP');
  }

  /** SIGCONT. */
  resume(): void {
    this.#signal('SIGCONT');
  }

  #signal(signal: NodeJS.Signals): void {
    if (!this.running || !this.#child.kill(signal)) throw this.#failure(`could not be sent ${signal}`);
  }

  #line(line: string): void {
    const event = parseEvent(line);
    if (event === undefined) {
      this.#stderr = (this.#stderr + `[stdout] ${line}\n`).slice(-8000);
      return;
    }
    this.events.push(event);
    for (const waiter of this.#waiters) if (waiter.predicate(event)) waiter.resolve(event);
  }

  #failure(what: string): Error {
    const tail = this.#stderr.trim();
    return new Error(`worker ${this.name} (pid ${this.pid}) ${what}` + (tail === '' ? '' : `\n${tail}`));
  }
}

function describeExit(exit: Exit): string {
  return exit.signal === null ? `code ${String(exit.code)}` : `signal ${exit.signal}`;
}

/**
 * Spawns workers and guarantees they are gone afterwards: call `killAll()` in `afterEach`, so a failed
 * or hung test never leaves a process (stopped or not) behind.
 *
 * @example
 * ```ts
 * const workers = new Workers();
 * afterEach(() => workers.killAll());
 * const a = workers.spawn('a', { store, namespace, server: ledger.url, ids: ['x'] });
 * await a.finished();
 * ```
 */
export class Workers {
  readonly #all = new Set<WorkerProcess>();

  spawn(name: string, config: WorkerConfig): WorkerProcess {
    const worker = new WorkerProcess(name, config);
    this.#all.add(worker);
    return worker;
  }

  async killAll(): Promise<void> {
    const running = [...this.#all].filter((worker) => worker.running);
    this.#all.clear();
    // SIGKILL ends a stopped process too; no SIGCONT needed first.
    await Promise.all(running.map((worker) => worker.kill9()));
  }
}

/** Type guards for `waitFor`. */
export const isReady = (event: WorkerEvent): event is Extract<WorkerEvent, { type: 'ready' }> =>
  event.type === 'ready';
export const isCalling =
  (id: string) =>
  (event: WorkerEvent): event is Extract<WorkerEvent, { type: 'calling' }> =>
    event.type === 'calling' && event.id === id;
export const isOutcome =
  (id: string) =>
  (event: WorkerEvent): event is ResultEvent | ErrorEvent =>
    (event.type === 'result' || event.type === 'error') && event.id === id;
