import { fileURLToPath } from 'node:url';
import { JsonChild } from './child.ts';
import type { Trigger } from './scenario.ts';
import type { WorkerCommand, WorkerConfig, WorkerEvent } from './worker/protocol.ts';

const WORKER = fileURLToPath(new URL('./worker/main.ts', import.meta.url));
const READY_TIMEOUT_MS = 30_000;
const MAX_RESPAWNS = 10_000;

type DoneEvent = Extract<WorkerEvent, { type: 'done' }>;

interface Slot {
  readonly index: number;
  readonly skewMs: number;
  worker: JsonChild<WorkerEvent>;
  ready: Promise<void>;
  /** Deliveries sent to this worker and not answered yet. */
  readonly inFlight: Map<string, Trigger>;
}

export interface PoolEvents {
  onDone(event: DoneEvent, slot: number): void;
  /** The worker died with deliveries in flight: they must be delivered again (at-least-once trigger). */
  onLost(triggers: readonly Trigger[], slot: number): void;
}

/**
 * Worker processes, one per slot, each taking up to `capacity` deliveries at once. A worker that dies is
 * replaced (same slot, same clock skew); what it had in flight is handed back for redelivery.
 */
export class WorkerPool {
  readonly #slots: Slot[] = [];
  readonly #config: WorkerConfig;
  readonly #capacity: number;
  readonly #events: PoolEvents;
  #closing = false;
  #respawns = 0;
  deaths = 0;

  constructor(config: WorkerConfig, skews: readonly number[], capacity: number, events: PoolEvents) {
    this.#config = config;
    this.#capacity = capacity;
    this.#events = events;
    skews.forEach((skewMs, index) => {
      const slot = { index, skewMs, inFlight: new Map<string, Trigger>() } as Slot;
      this.#spawn(slot);
      this.#slots.push(slot);
    });
  }

  #spawn(slot: Slot): void {
    let readyResolve!: () => void;
    let readyReject!: (error: Error) => void;
    slot.ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    const timer = setTimeout(() => {
      readyReject(new Error(`worker slot ${slot.index} not ready in time: ${worker.stderr}`));
    }, READY_TIMEOUT_MS);
    const worker = new JsonChild<WorkerEvent>(
      WORKER,
      [JSON.stringify({ ...this.#config, caller: `${this.#config.caller}/w${slot.index}` })],
      (event) => {
        if (event.type === 'ready') {
          clearTimeout(timer);
          readyResolve();
        } else if (event.type === 'fatal') {
          readyReject(new Error(`worker slot ${slot.index}: ${event.message}`));
        } else if (slot.worker === worker) {
          slot.inFlight.delete(event.trigger);
          this.#events.onDone(event, slot.index);
        }
      },
      { CHAOS_CLOCK_SKEW_MS: String(slot.skewMs) },
    );
    slot.worker = worker;
    // A replacement's start-up failure is handled by its exit below (it is replaced again).
    slot.ready.catch(() => undefined);
    void worker.exited.then(({ code }) => {
      clearTimeout(timer);
      if (slot.worker !== worker || (this.#closing && code === 0)) return;
      this.deaths++;
      const lost = [...slot.inFlight.values()];
      slot.inFlight.clear();
      // A worker that cannot even start (store refusing connections during its restart) is retried,
      // as a process manager would, but not forever.
      if (!this.#closing && ++this.#respawns <= MAX_RESPAWNS) this.#spawn(slot);
      this.#events.onLost(lost, slot.index);
    });
  }

  async ready(): Promise<void> {
    await Promise.all(this.#slots.map((slot) => slot.ready));
  }

  /** Free places per slot, most free first. */
  free(): { slot: number; free: number }[] {
    return this.#slots
      .map((slot) => ({ slot: slot.index, free: this.#capacity - slot.inFlight.size }))
      .filter((entry) => entry.free > 0)
      .sort((a, b) => b.free - a.free);
  }

  /** Deliveries sent and not answered yet. */
  running(): Trigger[] {
    return this.#slots.flatMap((slot) => [...slot.inFlight.values()]);
  }

  busy(): number {
    return this.#slots.reduce((sum, slot) => sum + slot.inFlight.size, 0);
  }

  send(slotIndex: number, trigger: Trigger): void {
    const slot = this.#slots[slotIndex];
    if (slot === undefined) throw new Error(`no slot ${slotIndex}`);
    slot.inFlight.set(trigger.id, trigger);
    const command: WorkerCommand = { cmd: 'run', trigger: trigger.id, op: trigger.op, kill: trigger.kill };
    // A replacement may still be starting: its stdin buffers the line until it reads.
    slot.worker.send(command);
  }

  /** The slot whose current worker has this pid. */
  slotOf(pid: number): number | undefined {
    return this.#slots.find((slot) => slot.worker.pid === pid)?.index;
  }

  signal(slotIndex: number, signal: NodeJS.Signals): void {
    this.#slots[slotIndex]?.worker.signal(signal);
  }

  /** Lets every worker finish and exit (stdin closed); kills any that hangs. */
  async close(timeoutMs = 30_000): Promise<void> {
    this.#closing = true;
    await Promise.all(
      this.#slots.map(async (slot) => {
        const worker = slot.worker;
        worker.signal('SIGCONT');
        worker.endInput();
        const timer = setTimeout(() => {
          worker.signal('SIGKILL');
        }, timeoutMs);
        await worker.exited;
        clearTimeout(timer);
      }),
    );
  }

  async kill(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.#slots.map((slot) => slot.worker.kill()));
  }
}
