import { AttemptTimeoutError, LeaseLostError } from '../errors/errors.ts';
import type { IdempotencyRecord } from '../machine/record.ts';
import type { Lease, Store } from '../stores/types.ts';
import { MAX_TIMER_MS } from './policy.ts';

/**
 * Keeps one attempt's lease alive while the wrapped call runs: renews it every third of the lease and
 * aborts `signal` as soon as the claim is taken over, or cannot be renewed before it would lapse, or
 * the attempt passes its deadline (SEMANTICS.md, invariant 13). Past the deadline nothing is renewed
 * again, so even a call that ignores its signal loses the key within one lease.
 */
export class LeaseKeeper {
  readonly #store: Store;
  readonly #leaseMs: number;
  readonly #controller = new AbortController();
  readonly #timer: NodeJS.Timeout;
  readonly #deadlineTimer: NodeJS.Timeout;
  readonly #expired: Promise<void>;
  #lease: Lease;
  /** Local bound on the lease: renewal sent at t means the store's lease ends no earlier than t + leaseMs. */
  #deadline: number;
  #beating: Promise<void> | undefined;
  #lost: LeaseLostError | undefined;
  #timedOut: AttemptTimeoutError | undefined;

  constructor(store: Store, lease: Lease, leaseMs: number, reservedAt: number, attemptTimeoutMs: number) {
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
    let expire!: () => void;
    this.#expired = new Promise((resolve) => {
      expire = resolve;
    });
    // Counted from before the reservation was sent: the attempt's deadline never starts late.
    const remaining = Math.max(0, reservedAt + attemptTimeoutMs - Date.now());
    this.#deadlineTimer = setTimeout(() => {
      this.#expire(attemptTimeoutMs);
      expire();
    }, remaining);
    this.#deadlineTimer.unref();
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

  /** Set once the attempt passed its deadline (the signal's reason). */
  get timedOut(): AttemptTimeoutError | undefined {
    return this.#timedOut;
  }

  /** Resolves when the attempt passes its deadline (never, if it ends before). */
  get expired(): Promise<void> {
    return this.#expired;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    clearTimeout(this.#deadlineTimer);
    await this.#beating;
  }

  #expire(timeoutMs: number): void {
    clearInterval(this.#timer);
    if (this.#controller.signal.aborted) return;
    this.#timedOut = new AttemptTimeoutError(this.#lease.key, this.#lease.attempt, timeoutMs);
    this.#controller.abort(this.#timedOut);
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
    if (!this.#controller.signal.aborted) this.#controller.abort(this.#lost);
  }
}
