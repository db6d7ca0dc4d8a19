import { ConfigurationError } from '../errors/errors.ts';
import { ADDRESS_FORMS } from './address.ts';
import { postgresAddresses } from './postgres/address.ts';
import { redisAddresses } from './redis/address.ts';
import { sqliteAddresses } from './sqlite/address.ts';
import type { Store } from './types.ts';

/**
 * A parsed store address: which store (`kind`) and the options its factory takes (`path`, `schema`,
 * `keyPrefix`, ...), credentials included. Show it with `describe`, never as is.
 */
export interface StoreAddress {
  readonly kind: string;
  readonly [option: string]: unknown;
}

/** What opening a store from an address may need besides the address. */
export interface OpenStoreContext {
  /** Directory a relative file path (SQLite) is resolved against. Default: the process's. */
  readonly cwd?: string;
  /** Redis: accept a server that keeps nothing on disk (tests and local development only). */
  readonly allowVolatile?: boolean;
  /** Connections in a pool the store opens (PostgreSQL). Default: the driver's. */
  readonly maxConnections?: number;
}

/**
 * One kind of store as the registry knows it: the schemes its addresses use, an options parser that
 * loads nothing, and an opener that loads the store module and its driver only when called.
 */
export interface StoreKind<A extends StoreAddress = StoreAddress> {
  readonly kind: string;
  /** URL schemes without the colon: `postgres`, `postgresql`. */
  readonly schemes: readonly string[];
  /** Reads an address of one of its schemes; throws `ConfigurationError` for one it cannot use. */
  parse(address: string): A;
  /** The address without credentials, for messages and logs. */
  describe(address: A): string;
  /** The local file the store lives in, when it is one: opening a missing one would create it. */
  file?(address: A, context: OpenStoreContext): string;
  /** Loads the store's module (and its driver) and opens the store. */
  open(address: A, context: OpenStoreContext): Promise<Store>;
}

/**
 * Address scheme to store: what the CLI (and a console) use to turn `sqlite:./x.db`, `postgres://…` or
 * `redis://…` into a store, loading only the chosen store's module and driver.
 *
 * @example
 * ```ts
 * import { retrysafe, storeRegistry } from 'retrysafe';
 *
 * const store = await storeRegistry.open(process.env.RETRYSAFE_STORE ?? 'sqlite:./retrysafe.db');
 * console.log('using', storeRegistry.describe(storeRegistry.parse(process.env.RETRYSAFE_STORE ?? '')));
 * const rs = retrysafe({ store, namespace: 'billing' });
 * ```
 */
export interface StoreRegistry {
  /** Adds a kind of store; refused when one of its schemes is taken. */
  register(kind: StoreKind): void;
  /** The registered kinds, in registration order. */
  kinds(): readonly string[];
  /** The kind that handles an address's scheme, if any. */
  kindOf(address: string | StoreAddress): StoreKind | undefined;
  /** Parses an address; throws `ConfigurationError` for an unknown scheme or options. */
  parse(address: string): StoreAddress;
  /** The address without credentials. */
  describe(address: StoreAddress): string;
  /** The local file an address names (SQLite), else undefined. */
  file(address: StoreAddress, context?: OpenStoreContext): string | undefined;
  /** Opens the store an address names. */
  open(address: string | StoreAddress, context?: OpenStoreContext): Promise<Store>;
}

/** The scheme of an address: `postgres` in `postgres://…`, `sqlite` in `sqlite:./x.db`. */
function schemeOf(text: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):/i.exec(text.trim())?.[1]?.toLowerCase();
}

/** A registry holding `kinds`; `storeRegistry` is the one with the built-in stores. */
export function createStoreRegistry(kinds: readonly StoreKind[] = []): StoreRegistry {
  const byScheme = new Map<string, StoreKind>();
  const byKind = new Map<string, StoreKind>();

  const kindOfParsed = (address: StoreAddress): StoreKind => {
    const kind = byKind.get(address.kind);
    if (kind === undefined) throw new ConfigurationError(`no store of kind ${JSON.stringify(address.kind)}`);
    return kind;
  };

  const registry: StoreRegistry = {
    register(entry) {
      // Each kind only ever sees addresses its own parse made (`kindOfParsed` picks it by `kind`).
      if (byKind.has(entry.kind)) {
        throw new ConfigurationError(`a store of kind ${JSON.stringify(entry.kind)} is already registered`);
      }
      for (const scheme of entry.schemes) {
        const taken = byScheme.get(scheme.toLowerCase());
        if (taken !== undefined) {
          throw new ConfigurationError(`the scheme ${scheme}: already belongs to the ${taken.kind} store`);
        }
      }
      for (const scheme of entry.schemes) byScheme.set(scheme.toLowerCase(), entry);
      byKind.set(entry.kind, entry);
    },
    kinds: () => [...byKind.keys()],
    kindOf(address) {
      if (typeof address !== 'string') return byKind.get(address.kind);
      const scheme = schemeOf(address);
      return scheme === undefined ? undefined : byScheme.get(scheme);
    },
    parse(address) {
      const scheme = schemeOf(address);
      const kind = scheme === undefined ? undefined : byScheme.get(scheme);
      if (kind === undefined) {
        throw new ConfigurationError(
          scheme === undefined
            ? `unrecognised store address ${JSON.stringify(address)}: use ${ADDRESS_FORMS}`
            : `unsupported store ${JSON.stringify(scheme)}: use ${ADDRESS_FORMS}`,
        );
      }
      return kind.parse(address.trim());
    },
    describe: (address) => kindOfParsed(address).describe(address),
    file: (address, context = {}) => kindOfParsed(address).file?.(address, context),
    open(address, context = {}) {
      const parsed = typeof address === 'string' ? registry.parse(address) : address;
      return kindOfParsed(parsed).open(parsed, context);
    },
  };
  for (const kind of kinds) registry.register(kind);
  return registry;
}

/** The built-in stores: `sqlite:`, `postgres://` (`postgresql://`), `redis://` (`rediss://`). */
export const storeRegistry: StoreRegistry = createStoreRegistry([
  sqliteAddresses,
  postgresAddresses,
  redisAddresses,
]);
