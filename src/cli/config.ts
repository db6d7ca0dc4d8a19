import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OperationDefinition, RetrySafe, Store } from '../index.ts';
import { UsageError } from './args.ts';

/**
 * What a `--config` module exports (as its default export, or as named exports):
 * - `store`: a store instance, or a store address string (`sqlite:…`, `postgres://…`, `redis://…`);
 * - `operations`: the operation definitions of your automation, so that `reconcile` can use their
 *   lookups and re-sends, and `resolve` their TTLs (they are declared on a client the CLI creates);
 * - `client`: instead of `store` and `operations`, a `retrysafe(...)` client with its operations declared;
 * - `namespace`: the client's namespace when the CLI creates it (keys come from the records, so it
 *   plays no part in reconciling; default `retrysafe-cli`);
 * - `close`: called after the command, to end what the module opened besides the store (a pool).
 */
export interface CliConfig {
  readonly store?: Store | string;
  // Definitions of any input, result and payload type: the CLI only passes them on to `rs.operation`.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly operations?: readonly OperationDefinition<any, any>[];
  readonly client?: RetrySafe;
  readonly namespace?: string;
  readonly close?: () => unknown;
}

/** Imports and checks a config module. A missing file or a wrong shape is a usage error. */
export async function loadConfig(file: string, cwd: string): Promise<CliConfig> {
  const absolute = path.resolve(cwd, file);
  if (!existsSync(absolute)) throw new UsageError(`config file ${file} does not exist`);
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(
      `config file ${file} failed to load: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const exported = isObject(loaded['default']) ? loaded['default'] : loaded;
  const config = exported as CliConfig & Record<string, unknown>;
  const where = `config file ${file}`;
  if (config.store !== undefined && typeof config.store !== 'string' && !isStore(config.store)) {
    throw new UsageError(`${where}: \`store\` must be a store (sqliteStore(...), …) or a store address`);
  }
  if (config.client !== undefined && !isClient(config.client)) {
    throw new UsageError(`${where}: \`client\` must be a client made by retrysafe(...)`);
  }
  if (config.client !== undefined && (config.store !== undefined || config.operations !== undefined)) {
    throw new UsageError(`${where}: export either \`client\`, or \`store\` and \`operations\`, not both`);
  }
  if (config.operations !== undefined && !Array.isArray(config.operations)) {
    throw new UsageError(`${where}: \`operations\` must be an array of operation definitions`);
  }
  if (config.namespace !== undefined && typeof config.namespace !== 'string') {
    throw new UsageError(`${where}: \`namespace\` must be a string`);
  }
  if (config.close !== undefined && typeof config.close !== 'function') {
    throw new UsageError(`${where}: \`close\` must be a function`);
  }
  return config;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isStore(value: unknown): value is Store {
  return isObject(value) && typeof value['list'] === 'function' && typeof value['migrate'] === 'function';
}

function isClient(value: unknown): value is RetrySafe {
  return isObject(value) && typeof value['operation'] === 'function' && isStore(value['store']);
}
