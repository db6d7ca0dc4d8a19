import { existsSync } from 'node:fs';
import { retrysafe, type RetrySafe, type Store } from '../index.ts';
import { UsageError } from './args.ts';
import { loadConfig, type CliConfig } from './config.ts';
import { storeRegistry } from '../stores/registry.ts';
import { describeAddress, parseStoreAddress } from './store-address.ts';

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
/** One command at a time needs few connections. */
const CLI_POOL_SIZE = 2;

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
    where = describeAddress(parsed);
    const context = { cwd, allowVolatile: options.allowVolatile, maxConnections: CLI_POOL_SIZE };
    const file = storeRegistry.file(parsed, context);
    if (file !== undefined && !purpose.migrating && !existsSync(file)) {
      throw new UsageError(`no database at ${where}: run \`retrysafe migrate\` first`);
    }
    // The registry loads the chosen store's module (and its driver) only now.
    store = await storeRegistry.open(parsed, context);
  } else {
    store = chosen;
    where = chosen.name;
  }
  const rs = retrysafe({ store, namespace: config.namespace ?? DEFAULT_NAMESPACE, migrate: false });
  for (const definition of config.operations ?? []) rs.operation(definition);
  return { rs, store, where, close: closer(store, config) };
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
