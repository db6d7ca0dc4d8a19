import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresClusterProblem, startPostgresCluster } from '../test/helpers/postgres-server.ts';
import { DURABLE_ARGS, startRedisServer } from '../test/helpers/redis-server.ts';
import type { StoreName, StoreSpec } from './impls/types.ts';

/** The store a run uses, on servers the run owns, so a restart disturbs nothing else. */
export interface StoreEnvironment {
  readonly spec: StoreSpec;
  /** Restarts the store's server (crash-like where the server allows); undefined for SQLite. */
  readonly restart: (() => Promise<void>) | undefined;
  readonly url: string | undefined;
  dispose(): Promise<void>;
}

/**
 * Starts a private store: a SQLite file in a temp dir, a private PostgreSQL cluster (initdb, stopped with
 * `-m immediate` as in a crash), or a private redis-server with `appendonly yes`, `appendfsync always`.
 */
export async function startStore(name: StoreName): Promise<StoreEnvironment> {
  switch (name) {
    case 'sqlite': {
      const dir = await mkdtemp(join(tmpdir(), 'rs-chaos-'));
      return {
        spec: { kind: 'sqlite', path: join(dir, 'store.db') },
        restart: undefined,
        url: undefined,
        dispose: () => rm(dir, { recursive: true, force: true }),
      };
    }
    case 'postgres': {
      const problem = await postgresClusterProblem();
      if (problem !== undefined) throw new Error(`no private PostgreSQL cluster here: ${problem}`);
      const cluster = await startPostgresCluster();
      return {
        spec: { kind: 'postgres', url: cluster.url, schema: 'chaos' },
        restart: async () => {
          await cluster.crash();
          await cluster.start();
        },
        url: cluster.url,
        dispose: () => cluster.destroy(),
      };
    }
    case 'redis': {
      const server = await startRedisServer({ args: DURABLE_ARGS });
      return {
        spec: { kind: 'redis', url: server.url, prefix: 'chaos:' },
        restart: () => server.restart(),
        url: server.url,
        dispose: () => server.stop(),
      };
    }
  }
}
