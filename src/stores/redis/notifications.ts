import type { RedisSubscriberLike } from './client.ts';

export interface WaitRequest {
  readonly channel: string;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  /** Polling fallback: how often `changed` is asked while no message arrives. */
  readonly pollIntervalMs: number;
  /**
   * Reads the record and says whether it moved on from what the waiter saw. Asked once the channel is
   * subscribed (a change between the caller's read and the subscription would otherwise be missed) and
   * then on every poll.
   */
  readonly changed: () => Promise<boolean>;
}

/**
 * Wakes waiters when a script publishes a change of their key. One subscriber connection per store,
 * one subscription per key that someone in this process waits on (dropped when the last waiter
 * leaves), so a worker only receives messages for the keys it waits on.
 */
export class ChangeNotifier {
  readonly #createSubscriber: () => RedisSubscriberLike;
  #subscriber: RedisSubscriberLike | undefined;
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #subscriptions = new Map<string, Promise<boolean>>();
  #closed = false;

  constructor(createSubscriber: () => RedisSubscriberLike) {
    this.#createSubscriber = createSubscriber;
  }

  /** Resolves on a message for the channel, a change seen by `changed`, the timeout or the signal. */
  wait(request: WaitRequest): Promise<void> {
    const { channel, timeoutMs, signal, pollIntervalMs, changed } = request;
    if (this.#closed || timeoutMs <= 0 || signal?.aborted === true) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearInterval(poller);
        signal?.removeEventListener('abort', finish);
        this.#leave(channel, finish);
        resolve();
      };
      const check = (): void => {
        changed().then(
          (moved) => {
            if (moved) finish();
          },
          // A failed read is no news: the message, the next poll or the timeout decides.
          () => undefined,
        );
      };
      const timer = setTimeout(finish, timeoutMs);
      const poller = setInterval(check, pollIntervalMs);
      signal?.addEventListener('abort', finish, { once: true });
      this.#join(channel, finish).then(
        () => {
          if (!done) check();
        },
        () => undefined,
      );
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const waiters of [...this.#waiters.values()]) for (const wake of [...waiters]) wake();
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    if (subscriber !== undefined) await subscriber.close().catch(() => undefined);
  }

  /** Registers a waiter; resolves once the channel is subscribed (or subscribing failed: then polling). */
  async #join(channel: string, wake: () => void): Promise<boolean> {
    let waiters = this.#waiters.get(channel);
    if (waiters === undefined) {
      waiters = new Set();
      this.#waiters.set(channel, waiters);
    }
    waiters.add(wake);
    let subscribed = this.#subscriptions.get(channel);
    if (subscribed === undefined) {
      subscribed = this.#subscribe(channel);
      this.#subscriptions.set(channel, subscribed);
    }
    return subscribed;
  }

  #leave(channel: string, wake: () => void): void {
    const waiters = this.#waiters.get(channel);
    if (waiters === undefined) return;
    waiters.delete(wake);
    if (waiters.size > 0) return;
    this.#waiters.delete(channel);
    const subscribed = this.#subscriptions.get(channel);
    this.#subscriptions.delete(channel);
    const subscriber = this.#subscriber;
    if (subscribed === undefined || subscriber === undefined) return;
    subscribed
      .then(async (ok) => {
        // Only if no new waiter subscribed the channel again meanwhile.
        if (ok && !this.#subscriptions.has(channel)) await subscriber.unsubscribe(channel);
      })
      .catch(() => undefined);
  }

  async #subscribe(channel: string): Promise<boolean> {
    try {
      if (this.#subscriber === undefined) {
        const subscriber = this.#createSubscriber();
        subscriber.onMessage((from) => {
          const waiters = this.#waiters.get(from);
          if (waiters !== undefined) for (const wake of [...waiters]) wake();
        });
        this.#subscriber = subscriber;
      }
      await this.#subscriber.subscribe(channel);
      return true;
    } catch {
      // No subscription: the waiter polls instead.
      return false;
    }
  }
}
