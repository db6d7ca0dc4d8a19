import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { startPostgresCluster, type PostgresCluster } from './postgres-server.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

const SYNC_TIMEOUT_MS = 30_000;

/**
 * A PostgreSQL primary with one streaming standby (made with `pg_basebackup`), owned by a test or a
 * chaos run. Clients connect to `url`, an address that moves on failover; the standby streams through
 * a link that can be cut.
 */
export interface ReplicatedPostgres {
  /** `postgres://postgres@127.0.0.1:<endpoint port>/postgres`: follows the primary. */
  readonly url: string;
  readonly primary: PostgresCluster;
  readonly standby: PostgresCluster;
  /** The current standby's replication link. */
  readonly link: TcpProxy;
  /**
   * Failover: stops the primary with `-m immediate` (a crash), promotes the standby, moves the endpoint
   * to it, then makes a new standby of it (as a replacement node joins), so that synchronous commits
   * can be acknowledged again.
   */
  failover(): Promise<void>;
  /** Resolves when the standby streams from the primary again. */
  inSync(): Promise<void>;
  stop(): Promise<void>;
}

export interface ReplicatedPostgresOptions {
  /** `synchronous_standby_names = '*'` on the primary (and so on every standby made from it). */
  readonly synchronous: boolean;
  /** More `postgresql.conf` lines for the primary. */
  readonly config?: readonly string[];
}

/** Runs one query on the server at `url` with a connection of its own. */
export async function queryOnce(url: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Waits until a standby streams and, for a synchronous setup, until the primary counts it as synchronous:
 * `sync_state` moves from `async`/`potential` to `sync` a moment after streaming starts, and a store
 * migrated in that moment is rightly refused.
 */
async function waitForStreaming(primaryUrl: string, synchronous: boolean): Promise<void> {
  const deadline = Date.now() + SYNC_TIMEOUT_MS;
  const sync = synchronous ? " AND sync_state IN ('sync', 'quorum')" : '';
  for (;;) {
    const rows = await queryOnce(
      primaryUrl,
      `SELECT count(*)::int AS n FROM pg_stat_replication WHERE state = 'streaming'${sync}`,
    ).then(
      (result) => (result.rows[0] as { n?: number } | undefined)?.n ?? 0,
      () => 0,
    );
    if (rows > 0) return;
    if (Date.now() > deadline) throw new Error('timed out waiting for the standby to stream');
    await sleep(100);
  }
}

/**
 * Starts a primary, a standby streaming from it through a link proxy, and the client endpoint; waits
 * until the standby streams.
 *
 * @example
 * ```ts
 * const db = await startReplicatedPostgres({ synchronous: true });
 * try { db.link.cut(); await db.failover(); } finally { await db.stop(); }
 * ```
 */
export async function startReplicatedPostgres(
  options: ReplicatedPostgresOptions,
): Promise<ReplicatedPostgres> {
  const clusters: PostgresCluster[] = [];
  const proxies: TcpProxy[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await Promise.all(clusters.map((cluster) => cluster.destroy()));
  };
  const config = [
    'wal_level = replica',
    'max_wal_senders = 10',
    // A standby that reconnects quickly after its link is back.
    "wal_retrieve_retry_interval = '200ms'",
    ...(options.synchronous ? ["synchronous_standby_names = '*'"] : []),
    ...(options.config ?? []),
  ];
  try {
    let primary = await startPostgresCluster({ config });
    clusters.push(primary);
    let link = await startTcpProxy(primary.port);
    proxies.push(link);
    let standby = await startPostgresCluster({ standbyOf: link.port });
    clusters.push(standby);
    const endpoint = await startTcpProxy(primary.port);
    proxies.push(endpoint);
    await waitForStreaming(primary.url, options.synchronous);

    return {
      url: `postgres://postgres@127.0.0.1:${endpoint.port}/postgres`,
      get primary() {
        return primary;
      },
      get standby() {
        return standby;
      },
      get link() {
        return link;
      },
      failover: async () => {
        await primary.crash();
        await standby.promote();
        endpoint.moveTo(standby.port);
        primary = standby;
        link = await startTcpProxy(primary.port);
        proxies.push(link);
        standby = await startPostgresCluster({ standbyOf: link.port });
        clusters.push(standby);
        await waitForStreaming(primary.url, options.synchronous);
      },
      inSync: () => waitForStreaming(primary.url, options.synchronous),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
