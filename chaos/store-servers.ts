import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresClusterProblem, startPostgresCluster } from '../test/helpers/postgres-server.ts';
import { startReplicatedPostgres } from '../test/helpers/postgres-replicated.ts';
import { startReplicatedRedis } from '../test/helpers/redis-replicated.ts';
import { DURABLE_ARGS, startRedisServer } from '../test/helpers/redis-server.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StoreName, StoreSpec } from './impls/types.ts';

/** How long the replication link is down before the primary is killed (the 1.5 s). */
export const LINK_CUT_MS = 1_500;
/** How long a Redis transition waits for its replica: well inside the run's 1 s lease. */
const REPLICA_ACK_TIMEOUT_MS = 300;

export interface StoreStartOptions {
  /**
   * Replicated stores: run without the protection (Redis: no replica acknowledgement; PostgreSQL: an
   * asynchronous standby), accepted explicitly, to show what the protection prevents.
   */
  readonly unprotected?: boolean;
  readonly log?: (line: string) => void;
}

/** The store a run uses, on servers the run owns, so a restart disturbs nothing else. */
export interface StoreEnvironment {
  readonly spec: StoreSpec;
  /**
   * Restarts the store's server (crash-like where the server allows); on a replicated store, fails it
   * over instead. Undefined for SQLite.
   */
  readonly restart: (() => Promise<void>) | undefined;
  readonly url: string | undefined;
  dispose(): Promise<void>;
}

/**
 * Starts a private store: a SQLite file in a temp dir, a private PostgreSQL cluster (initdb, stopped with
 * `-m immediate` as in a crash), or a private redis-server with `appendonly yes`, `appendfsync always`.
 * The replicated stores are a primary and a replica behind a client address that moves; their
 * "restart" is a failover: the replication link is cut for {@link LINK_CUT_MS}, the primary is killed,
 * the replica promoted and the address moved to it (then a new replica joins).
 */
export async function startStore(
  name: StoreName,
  options: StoreStartOptions = {},
): Promise<StoreEnvironment> {
  const unprotected = options.unprotected ?? false;
  const log = options.log ?? (() => undefined);
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
    case 'redis-replicated': {
      // AOF everysec, as the durability check accepts and as in the report.
      const redis = await startReplicatedRedis();
      return {
        spec: unprotected
          ? { kind: 'redis', url: redis.url, prefix: 'chaos:', allowUnacknowledgedReplicas: true }
          : {
              kind: 'redis',
              url: redis.url,
              prefix: 'chaos:',
              replicaAcks: 1,
              replicaAckTimeoutMs: REPLICA_ACK_TIMEOUT_MS,
            },
        restart: async () => {
          redis.link.cut();
          log(`replication link cut for ${LINK_CUT_MS} ms, then kill -9 of the primary`);
          await sleep(LINK_CUT_MS);
          await redis.failover();
          log('replica promoted, address moved, new replica in sync');
        },
        url: redis.url,
        dispose: () => redis.stop(),
      };
    }
    case 'postgres-replicated': {
      const problem = await postgresClusterProblem();
      if (problem !== undefined) throw new Error(`no private PostgreSQL cluster here: ${problem}`);
      const db = await startReplicatedPostgres({ synchronous: !unprotected });
      return {
        spec: {
          kind: 'postgres',
          url: db.url,
          schema: 'chaos',
          allowAsynchronousStandbys: unprotected,
        },
        restart: async () => {
          db.link.cut();
          log(`replication link cut for ${LINK_CUT_MS} ms, then pg_ctl stop -m immediate of the primary`);
          await sleep(LINK_CUT_MS);
          await db.failover();
          log('standby promoted, address moved, new standby streaming');
        },
        url: db.url,
        dispose: () => db.stop(),
      };
    }
  }
}
