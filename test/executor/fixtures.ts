import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { retrysafe, type RetrySafe, type RetrySafeOptions } from '../../src/index.ts';
import { sqliteStore } from '../../src/stores/sqlite/index.ts';
import type { Store } from '../../src/stores/types.ts';

/** A retrysafe client on a fresh SQLite file, and the means to throw it away. */
export interface Fixture {
  readonly dir: string;
  readonly file: string;
  readonly store: Store;
  readonly rs: RetrySafe;
  /** A second client on the same file: another process as far as in-process sharing is concerned. */
  client(options?: Partial<RetrySafeOptions>): RetrySafe;
  close(): Promise<void>;
}

export function sqliteFixture(options: Partial<RetrySafeOptions> = {}): Fixture {
  const dir = mkdtempSync(path.join(tmpdir(), 'retrysafe-executor-'));
  const file = path.join(dir, 'store.db');
  const store = sqliteStore({ path: file });
  const stores: Store[] = [store];
  return {
    dir,
    file,
    store,
    rs: retrysafe({ store, namespace: 'test', ...options }),
    client(more = {}) {
      const other = sqliteStore({ path: file });
      stores.push(other);
      return retrysafe({ store: other, namespace: 'test', ...options, ...more });
    },
    async close() {
      for (const s of stores) await s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A store whose methods can be made to fail, to show that the executor fails closed. */
export function failing(store: Store, methods: readonly (keyof Store)[]): Store & { broken: boolean } {
  const wrapper = { broken: true };
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'broken') return wrapper.broken;
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (wrapper.broken && methods.includes(property as keyof Store)) {
        return () => Promise.reject(new Error(`store down (${String(property)})`));
      }
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
    set(_target, property, value) {
      if (property === 'broken') {
        wrapper.broken = value as boolean;
        return true;
      }
      return false;
    },
  }) as Store & { broken: boolean };
}
