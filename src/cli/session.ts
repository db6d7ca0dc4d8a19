import { existsSync } from 'node:fs';
import path from 'node:path';
import { retrysafe, type RetrySafe, type Store } from '../index.ts';
import { UsageError } from './args.ts';
import { loadConfig, type CliConfig } from './config.ts';
import { describeAddress, parseStoreAddress, type StoreAddress } from './store-address.ts';

/** Options every store command takes. */
export interface StoreOptions {
  readonly store: string | undefined;
  readonly config: string | undefined;
  readonly allowVolatile: boolean;
}

/** An open client over the chosen store, closed by the command runner. */
export interface Session {
  readonly rs: RetrySafe;
  readonly store: Store;
  /** Where the store is, without credentials. */
  readonly where: string;
  close(): Promise<void>;
}

const DEFAULT_NAMESPACE = 'retrysafe-cli';

/**
 * Opens the store named by `--store`, else the config file's `client` or `store`, else
 * `RETRYSAFE_STORE`. Commands other than `migrate` never create a SQLite file: a missing one is a usage error.
 */
export async function openSession(
  options: StoreOptions,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  purpose: { readonly migrating: boolean },
): Promise<Session> {
  const config: CliConfig = options.config === undefined ? {} : await loadConfig(options.config, cwd);
  if (config.client !== undefined) {
    if (options.store !== undefined) {
      throw new UsageError('--store cannot be combined with a config file that exports a client');
    }
    const client = config.client;
    return { rs: client, store: client.store, where: client.store.name, close: closer(client.store, config) };
  }
  // An explicit flag beats the config file, which beats the environment.
  const chosen = options.store ?? config.store ?? nonEmpty(env['RETRYSAFE_STORE']);
  if (chosen === undefined) {
    throw new UsageError('no store: pass --store ADDRESS, set RETRYSAFE_STORE, or --config FILE');
  }
  let store: Store;
  let where: string;
  if (typeof chosen === 'string') {
    const parsed = parseStoreAddress(chosen);
    if (parsed.kind === 'sqlite' && !purpose.migrating && !existsSync(path.resolve(cwd, parsed.path))) {
      throw new UsageError(`no SQLite database at ${parsed.path}: run \`retrysafe migrate\` first`);
    }
    store = await createStore(parsed, options.allowVolatile, cwd);
    where = describeAddress(parsed);
  } else {
    store = chosen;
    where = chosen.name;
  }
  const rs = retrysafe({ store, namespace: config.namespace ?? DEFAULT_NAMESPACE, migrate: false });
  for (const definition of config.operations ?? []) rs.operation(definition);
  return { rs, store, where, close: closer(store, config) };
}

/** Creates a store from an address; each store module (and its driver) is loaded only when chosen. */
async function createStore(address: StoreAddress, allowVolatile: boolean, cwd: string): Promise<Store> {
  switch (address.kind) {
    case 'sqlite': {
      const { sqliteStore } = await import('../stores/sqlite/index.ts');
      return sqliteStore({
        path: path.resolve(cwd, address.path),
        ...(address.tablePrefix === undefined ? {} : { tablePrefix: address.tablePrefix }),
      });
    }
    case 'postgres': {
      const { postgresStore } = await import('../stores/postgres/index.ts');
      return postgresStore({
        connectionString: address.connectionString,
        max: 2,
        ...(address.schema === undefined ? {} : { schema: address.schema }),
        ...(address.tablePrefix === undefined ? {} : { tablePrefix: address.tablePrefix }),
        ...(address.allowAsynchronousStandbys === undefined
          ? {}
          : { allowAsynchronousStandbys: address.allowAsynchronousStandbys }),
      });
    }
    case 'redis': {
      const { redisStore } = await import('../stores/redis/index.ts');
      return redisStore({
        url: address.url,
        allowVolatile,
        ...(address.keyPrefix === undefined ? {} : { keyPrefix: address.keyPrefix }),
        ...(address.replicaAcks === undefined ? {} : { replicaAcks: address.replicaAcks }),
        ...(address.replicaAckTimeoutMs === undefined
          ? {}
          : { replicaAckTimeoutMs: address.replicaAckTimeoutMs }),
        ...(address.allowUnacknowledgedReplicas === undefined
          ? {}
          : { allowUnacknowledgedReplicas: address.allowUnacknowledgedReplicas }),
      });
    }
  }
}

function closer(store: Store, config: CliConfig): () => Promise<void> {
  return async () => {
    try {
      await store.close();
    } finally {
      await config.close?.();
    }
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
