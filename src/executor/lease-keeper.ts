import { LeaseLostError } from '../errors/errors.ts';
import type { IdempotencyRecord } from '../machine/record.ts';
import type { Lease, Store } from '../stores/types.ts';
import { MAX_TIMER_MS } from './policy.ts';

/**
 * Keeps one attempt's lease alive while the wrapped call runs: renews it every third of the lease and
 * aborts `signal` as soon as the claim is taken over, or cannot be renewed before it would lapse.
 */
export class LeaseKeeper {
  readonly #store: Store;
  readonly #leaseMs: number;
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout;
  #lease: Lease;
  /** Local bound on the lease: renewal sent at t means the store's lease ends no earlier than t + leaseMs. */
  #deadline: number;
  #beating: Promise<void> | undefined;
  #lost: LeaseLostError | undefined;

  constructor(store: Store, lease: Lease, leaseMs: number, reservedAt: number) {
    this.#store = store;
    this.#lease = lease;
    this.#leaseMs = leaseMs;
    this.#deadline = reservedAt + leaseMs;
    this.#timer = setInterval(
      () => {
        this.#beating ??= this.#beat().finally(() => {
          this.#beating = undefined;
        });
      },
      // Bounded both ways: a timer over 2^31 - 1 ms fires at once (a lease over ~74 days heartbeat in a loop).
      Math.min(MAX_TIMER_MS, Math.max(1, Math.floor(leaseMs / 3))),
    );
    // A pending renewal must not keep a finished process alive.
    this.#timer.unref();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get lease(): Lease {
    return this.#lease;
  }

  /** Set once the lease was taken over or lapsed unrenewed. */
  get lost(): LeaseLostError | undefined {
    return this.#lost;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#beating;
  }

  async #beat(): Promise<void> {
    const sentAt = Date.now();
    try {
      const renewed = await this.#store.heartbeat(this.#lease, this.#leaseMs);
      if (renewed.ok) {
        this.#lease = { ...this.#lease, leaseUntil: renewed.record.leaseUntil ?? this.#lease.leaseUntil };
        this.#deadline = sentAt + this.#leaseMs;
      } else {
        this.#lose(renewed.record);
      }
    } catch (error) {
      // The store is unreachable: keep going while the lease surely holds, stop before it may lapse.
      if (Date.now() >= this.#deadline) this.#lose(undefined, error);
    }
  }

  #lose(record: IdempotencyRecord | undefined, cause?: unknown): void {
    if (this.#lost !== undefined) return;
    clearInterval(this.#timer);
    this.#lost = new LeaseLostError(this.#lease.key, this.#lease.attempt, record, { cause });
    this.#controller.abort(this.#lost);
  }
}
