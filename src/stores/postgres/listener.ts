import type { PgClient, PgNotification } from './driver.ts';
import { quoteIdent } from './names.ts';

/** An open listening connection and how to let go of it. */
export interface ListenConnection {
  readonly client: PgClient;
  close(failed: boolean): Promise<void>;
}

/** After the last waiter leaves, the connection stays this long for the next one, then closes. */
const IDLE_CLOSE_MS = 10_000;

/**
 * One `LISTEN` connection per store, shared by every waiter: connected on the first wait, reconnected
 * on the next wait after it dropped, closed when idle. A waiter resolves when a notification names its
 * key, or when its own timer runs out (the polling fallback). Whenever notifications may have been
 * missed (the connection just opened or dropped) every waiter is woken so that it reads the key again.
 */
export class ChangeListener {
  readonly #channel: string;
  readonly #open: () => Promise<ListenConnection>;
  readonly #waiters = new Map<string, Set<() => void>>();
  /** Connections this listener is closing on purpose: their 'end' is not a drop. */
  readonly #closing = new WeakSet<ListenConnection>();
  #connection: Promise<ListenConnection> | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(channel: string, open: () => Promise<ListenConnection>) {
    this.#channel = channel;
    this.#open = open;
  }

  /** Resolves on a notification for `key`, after `timeoutMs`, or when `signal` aborts. Never rejects. */
  wait(key: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.#closed || timeoutMs <= 0 || signal?.aborted === true) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        this.#remove(key, finish);
        resolve();
      };
      const timer = setTimeout(finish, timeoutMs);
      signal?.addEventListener('abort', finish, { once: true });
      this.#add(key, finish);
      // A failed connection leaves the waiter to its timer: polling is the fallback.
      this.#connect().catch(() => undefined);
    });
  }

  /** Whether the listening connection is open (for tests and diagnostics). */
  get connected(): boolean {
    return this.#connection !== undefined;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    this.#wakeAll();
    await this.#disconnect(false);
  }

  #add(key: string, waiter: () => void): void {
    clearTimeout(this.#idleTimer);
    let set = this.#waiters.get(key);
    if (set === undefined) {
      set = new Set();
      this.#waiters.set(key, set);
    }
    set.add(waiter);
  }

  #remove(key: string, waiter: () => void): void {
    const set = this.#waiters.get(key);
    if (set === undefined) return;
    set.delete(waiter);
    if (set.size === 0) this.#waiters.delete(key);
    if (this.#waiters.size === 0 && this.#connection !== undefined && !this.#closed) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = setTimeout(() => {
        if (this.#waiters.size === 0) void this.#disconnect(false);
      }, IDLE_CLOSE_MS);
      // An idle listener must not keep a finished process alive.
      this.#idleTimer.unref();
    }
  }

  #wakeAll(): void {
    for (const set of [...this.#waiters.values()]) for (const waiter of [...set]) waiter();
  }

  #connect(): Promise<ListenConnection> {
    if (this.#connection !== undefined) return this.#connection;
    const connecting = this.#establish();
    this.#connection = connecting;
    connecting.catch(() => {
      if (this.#connection === connecting) this.#connection = undefined;
    });
    return connecting;
  }

  async #establish(): Promise<ListenConnection> {
    const connection = await this.#open();
    const { client } = connection;
    let dropped = false;
    const drop = (): void => {
      if (dropped || this.#closing.has(connection)) return;
      dropped = true;
      void this.#dropped(connection);
    };
    client.on('notification', (message) => {
      this.#dispatch(message);
    });
    client.on('error', drop);
    client.on('end', drop);
    try {
      await client.query(`LISTEN ${quoteIdent(this.#channel)}`);
    } catch (error) {
      dropped = true;
      await connection.close(true);
      throw error;
    }
    if (this.#closed) {
      this.#closing.add(connection);
      await connection.close(false);
      throw new Error('the store was closed');
    }
    // Changes committed before LISTEN took effect were not heard: let the current waiters look again.
    this.#wakeAll();
    return connection;
  }

  #dispatch(message: PgNotification): void {
    if (message.channel !== this.#channel || message.payload === undefined) return;
    const set = this.#waiters.get(message.payload);
    if (set === undefined) return;
    for (const waiter of [...set]) waiter();
  }

  async #dropped(connection: ListenConnection): Promise<void> {
    const current = this.#connection;
    if (current !== undefined && (await current.catch(() => undefined)) === connection) {
      this.#connection = undefined;
    }
    // Notifications sent while the connection was down are lost: everyone reads the key again.
    this.#wakeAll();
    await connection.close(true);
  }

  async #disconnect(failed: boolean): Promise<void> {
    const current = this.#connection;
    this.#connection = undefined;
    if (current === undefined) return;
    const connection = await current.catch(() => undefined);
    if (connection === undefined) return;
    this.#closing.add(connection);
    await connection.close(failed);
  }
}
