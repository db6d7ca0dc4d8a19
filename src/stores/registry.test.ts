import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../errors/errors.ts';
import { createStoreRegistry, storeRegistry, type StoreAddress, type StoreKind } from './registry.ts';
import { sqliteAddresses } from './sqlite/address.ts';
import { sqliteStore } from './sqlite/index.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'retrysafe-registry-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the built-in store registry', () => {
  it('knows the three stores by every scheme they take', () => {
    expect(storeRegistry.kinds()).toEqual(['sqlite', 'postgres', 'redis']);
    const kinds = ['sqlite:./a.db', 'postgres://h/db', 'POSTGRESQL://h/db', 'redis://h', 'rediss://h'].map(
      (address) => storeRegistry.kindOf(address)?.kind,
    );
    expect(kinds).toEqual(['sqlite', 'postgres', 'postgres', 'redis', 'redis']);
    expect(storeRegistry.kindOf('mysql://h/db')).toBeUndefined();
    expect(storeRegistry.kindOf('./a.db')).toBeUndefined();
  });

  it('parses each address into the options its store takes, without opening anything', () => {
    expect(storeRegistry.parse('sqlite://./a.db?prefix=t_')).toEqual({
      kind: 'sqlite',
      path: './a.db',
      tablePrefix: 't_',
    });
    expect(storeRegistry.parse(' postgresql://u:pw@h/db?prefix=p_&sslmode=require ')).toEqual({
      kind: 'postgres',
      connectionString: 'postgresql://u:pw@h/db?sslmode=require',
      tablePrefix: 'p_',
    });
    expect(storeRegistry.parse('rediss://:pw@h:6380/1')).toEqual({
      kind: 'redis',
      url: 'rediss://:pw@h:6380/1',
    });
  });

  it('describes an address without its credentials', () => {
    const shown = ['postgres://u:pw@h/db?password=pw2', 'rediss://:pw@h:6380/1', 'redis://token@h'].map((a) =>
      storeRegistry.describe(storeRegistry.parse(a)),
    );
    expect(shown).toEqual(['postgres://u:***@h/db?password=***', 'rediss://:***@h:6380/1', 'redis://***@h']);
    for (const text of shown) expect(text).not.toMatch(/pw|token/);
  });

  it('refuses an address it cannot use with a ConfigurationError that names the forms it takes', () => {
    for (const address of [
      'mysql://h/db',
      'no scheme',
      'sqlite:',
      'sqlite:a.db?schema=x',
      'postgres://[bad',
    ]) {
      expect(() => storeRegistry.parse(address), address).toThrow(ConfigurationError);
    }
    expect(() => storeRegistry.parse('mysql://h/db')).toThrow(/unsupported store "mysql": use sqlite:PATH/);
    expect(() => storeRegistry.describe({ kind: 'mysql' })).toThrow(/no store of kind "mysql"/);
  });

  it('opens a SQLite store from an address, relative to the given directory', async () => {
    const address = storeRegistry.parse('sqlite:./nested.db?prefix=reg_');
    expect(storeRegistry.file(address, { cwd: dir })).toBe(path.join(dir, 'nested.db'));
    expect(existsSync(path.join(dir, 'nested.db'))).toBe(false);
    const store = await storeRegistry.open(address, { cwd: dir });
    try {
      await store.migrate();
      const begun = await store.begin({
        key: 'k',
        operation: 'op@1',
        fingerprint: 'sha256:a',
        retryFailed: false,
        token: 't',
        leaseMs: 1_000,
      });
      expect(begun.reserved).toBe(true);
    } finally {
      await store.close();
    }
    // The table prefix reached the store: a second store with it sees the record.
    const again = sqliteStore({ path: path.join(dir, 'nested.db'), tablePrefix: 'reg_' });
    try {
      expect((await again.get('k'))?.state).toBe('in_flight');
    } finally {
      await again.close();
    }
  });
});

describe('a registry of your own', () => {
  /** A store kind of one's own: here a SQLite file under a `local:` scheme, named by a bare name. */
  interface LocalAddress extends StoreAddress {
    readonly kind: 'local';
    readonly name: string;
  }
  const local = (root: string): StoreKind<LocalAddress> => ({
    kind: 'local',
    schemes: ['local'],
    parse: (text) => ({ kind: 'local', name: text.slice('local:'.length) }),
    describe: (address) => `local:${address.name}`,
    file: (address) => path.join(root, `${address.name}.db`),
    open: (address) => Promise.resolve(sqliteStore({ path: path.join(root, `${address.name}.db`) })),
  });

  it('takes new kinds beside the built-in ones and opens them', async () => {
    const registry = createStoreRegistry([sqliteAddresses]);
    registry.register(local(dir));
    expect(registry.kinds()).toEqual(['sqlite', 'local']);
    const store = await registry.open('local:orders');
    try {
      await store.migrate();
      expect(await store.list({})).toEqual([]);
    } finally {
      await store.close();
    }
    expect(registry.file(registry.parse('local:orders'))).toBe(path.join(dir, 'orders.db'));
    expect(existsSync(path.join(dir, 'orders.db'))).toBe(true);
    expect(registry.describe(registry.parse('local:orders'))).toBe('local:orders');
  });

  it('refuses a second kind of the same name or a scheme that is taken', () => {
    const registry = createStoreRegistry([sqliteAddresses, local(dir)]);
    expect(() => {
      registry.register({ ...local(dir), kind: 'other' });
    }).toThrow(/scheme local: already belongs to the local store/);
    expect(() => {
      registry.register({ ...local(dir), schemes: ['elsewhere'] });
    }).toThrow(/kind "local" is already registered/);
    expect(() => {
      registry.register({ ...local(dir), kind: 'shadow', schemes: ['SQLITE'] });
    }).toThrow(/already belongs to the sqlite store/);
    expect(registry.kinds()).toEqual(['sqlite', 'local']);
  });
});
