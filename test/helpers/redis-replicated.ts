import { setTimeout as sleep } from 'node:timers/promises';
import { DURABLE_ARGS, rawCommand, startRedisServer, type RedisServer } from './redis-server.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

const SYNC_TIMEOUT_MS = 10_000;

/**
 * A Redis primary with one replica, owned by a test or a chaos run. Clients connect to `url`, an
 * address that moves on failover (as a managed endpoint does); the replica reaches the primary
 * through a link that can be cut.
 */
export interface ReplicatedRedis {
  /** `redis://127.0.0.1:<endpoint port>`: follows the primary. */
  readonly url: string;
  readonly primary: RedisServer;
  readonly replica: RedisServer;
  /** The replication link of the current replica. */
  readonly link: TcpProxy;
  /**
   * Failover: kills the primary with SIGKILL (a crash: what the replica had not received is gone),
   * promotes the replica (`REPLICAOF NO ONE`, as Sentinel does), moves the endpoint to it, then
   * starts a fresh replica of the new primary (as a replacement node joins), so that writes asking
   * for one replica's acknowledgement can succeed again.
   */
  failover(): Promise<void>;
  /** Resolves when the replica is connected and in sync again (after the link was restored). */
  inSync(): Promise<void>;
  stop(): Promise<void>;
}

/** Field `name` of an INFO reply. */
export function infoField(reply: string, name: string): string | undefined {
  const line = reply.split('\r\n').find((l) => l.startsWith(`${name}:`));
  return line?.slice(name.length + 1);
}

async function waitUntil(what: string, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + SYNC_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await ready().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Waits until `primary` counts one online replica and `replica` reports its link up. */
async function waitForSync(primary: number, replica: number): Promise<void> {
  await waitUntil(`replica ${replica} in sync with ${primary}`, async () => {
    const up = infoField(await rawCommand(replica, ['INFO', 'replication']), 'master_link_status') === 'up';
    const counted = infoField(await rawCommand(primary, ['INFO', 'replication']), 'connected_slaves');
    return up && counted === '1';
  });
}

/** A full sync starts at once instead of after the default 5 s wait for more replicas. */
const SYNC_ARGS = ['--repl-diskless-sync-delay', '0'] as const;

async function startReplicaOf(primaryPort: number, args: readonly string[]): Promise<RedisServer> {
  return startRedisServer({ args: [...args, ...SYNC_ARGS, '--replicaof', '127.0.0.1', String(primaryPort)] });
}

/**
 * Starts a primary and a replica (AOF `everysec` unless `args` say otherwise), the replication link
 * proxy and the client endpoint, and waits until the replica is in sync.
 *
 * @example
 * ```ts
 * const redis = await startReplicatedRedis();
 * try {
 *   redis.link.cut();
 *   await redis.failover();
 * } finally {
 *   await redis.stop();
 * }
 * ```
 */
export async function startReplicatedRedis(
  args: readonly string[] = [...DURABLE_ARGS.slice(0, 2), '--appendfsync', 'everysec', '--save', ''],
): Promise<ReplicatedRedis> {
  const servers: RedisServer[] = [];
  const proxies: TcpProxy[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await Promise.all(servers.map((server) => server.stop().catch(() => undefined)));
  };
  try {
    let primary = await startRedisServer({ args: [...args, ...SYNC_ARGS] });
    servers.push(primary);
    let link = await startTcpProxy(primary.port);
    proxies.push(link);
    let replica = await startReplicaOf(link.port, args);
    servers.push(replica);
    const endpoint = await startTcpProxy(primary.port);
    proxies.push(endpoint);
    await waitForSync(primary.port, replica.port);

    return {
      url: `redis://127.0.0.1:${endpoint.port}`,
      get primary() {
        return primary;
      },
      get replica() {
        return replica;
      },
      get link() {
        return link;
      },
      failover: async () => {
        await primary.kill();
        await rawCommand(replica.port, ['REPLICAOF', 'NO', 'ONE']);
        endpoint.moveTo(replica.port);
        primary = replica;
        link = await startTcpProxy(primary.port);
        proxies.push(link);
        replica = await startReplicaOf(link.port, args);
        servers.push(replica);
        await waitForSync(primary.port, replica.port);
      },
      inSync: () => waitForSync(primary.port, replica.port),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
