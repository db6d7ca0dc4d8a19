import { randomUUID } from 'node:crypto';
import { fingerprint, retrysafe, type Operation, type OperationPolicy } from '../../src/index.ts';
import { pgLoader, sqliteLoader, type Loader } from './bulk-load.ts';
import type { Contender } from './measure.ts';
import { destroyLocation, openStore, type Location, type OpenedStore } from './stores.ts';
import { chargeOperation, keyOf, type Charge, type Receipt } from './workload.ts';

/** A store whose records are bulk-loaded to a given size, reopened after each load. */
export class SizedStore {
  readonly location: Location;
  readonly #log: (message: string) => void;
  #opened: OpenedStore | undefined;
  #loader: Loader | undefined;
  #charge: Operation<Charge, Receipt> | undefined;

  constructor(location: Location, log: (message: string) => void) {
    this.location = location;
    this.#log = log;
  }

  /** The store being measured (after `grow`). */
  get opened(): OpenedStore {
    if (this.#opened === undefined) throw new Error('not grown');
    return this.#opened;
  }

  /**
   * Opens the store and writes the template record every loaded record copies, with `policy` (a short
   * TTL makes every copy expired at once, for gc).
   */
  async open(tag: string, policy: Partial<OperationPolicy> = {}): Promise<void> {
    this.#opened = await openStore(this.location);
    const charge = chargeOperation(
      retrysafe({ store: this.#opened.store, namespace: 'bench', defaults: policy }),
    );
    const template = { id: `template-${tag}`, amount: 100 };
    await charge(template);
    const key = charge.keyOf(template);
    const location = this.location;
    if (location.kind === 'postgres') this.#loader = await pgLoader(location, key);
    else if (location.kind === 'sqlite') this.#loader = sqliteLoader(location, key);
    else throw new Error(`no bulk loader for ${location.kind}`);
  }

  /** Loads up to `size` records; returns the seconds it took. */
  async grow(size: number): Promise<number> {
    if (this.#loader === undefined) throw new Error('not opened');
    if (this.location.kind === 'sqlite') {
      // The loader needs the file to itself.
      await this.#opened?.close();
      this.#opened = undefined;
    }
    const t0 = performance.now();
    await this.#loader.loadTo(size, this.#log);
    const seconds = (performance.now() - t0) / 1000;
    this.#opened ??= await openStore(this.location);
    this.#charge = chargeOperation(retrysafe({ store: this.#opened.store, namespace: 'bench' }));
    return seconds;
  }

  /** Contenders: `store.begin` on a fresh key, and a wrapped call on a fresh key. */
  contenders(name: string, tag: string): Contender[] {
    const opened = this.#opened;
    const charge = this.#charge;
    if (opened === undefined || charge === undefined) throw new Error('not grown');
    const payload = fingerprint({ amount: 100 });
    let serial = 0;
    return [
      {
        name: `${name} reserve`,
        op: () =>
          opened.store.begin({
            key: charge.keyOf({ id: keyOf(`${tag}r`, serial++), amount: 100 }),
            operation: charge.id,
            fingerprint: payload,
            retryFailed: false,
            token: randomUUID(),
            leaseMs: 30_000,
          }),
      },
      { name: `${name} call`, op: () => charge({ id: keyOf(`${tag}c`, serial++), amount: 100 }) },
    ];
  }

  async close(): Promise<void> {
    await this.#loader?.close();
    await this.#opened?.close();
    await destroyLocation(this.location);
  }
}
