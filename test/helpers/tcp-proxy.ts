import net from 'node:net';

/**
 * A TCP forwarder on a loopback port, for addresses that move and links that break: the endpoint a
 * managed service gives its clients (moved to the promoted replica on failover), or the replication
 * link between a primary and its replica (cut for a while).
 */
export interface TcpProxy {
  readonly port: number;
  /** The port connections are forwarded to. */
  readonly target: number;
  /**
   * Drops every open connection, at once and without flushing what either side still had in flight,
   * and refuses new ones until {@link restore}: whatever was on its way is lost, as on a broken link.
   */
  cut(): void;
  restore(): void;
  /** Drops every open connection; new ones go to `port` (the address moved). */
  moveTo(port: number): void;
  close(): Promise<void>;
}

/**
 * Starts a proxy on a free loopback port that forwards to 127.0.0.1:`target`.
 *
 * @example
 * ```ts
 * const link = await startTcpProxy(primary.port);
 * link.cut(); // the replica stops receiving
 * ```
 */
export async function startTcpProxy(target: number): Promise<TcpProxy> {
  let forwardTo = target;
  let isCut = false;
  const open = new Set<net.Socket>();
  const drop = (): void => {
    // resetAndDestroy sends RST: nothing buffered on this side reaches the peer.
    for (const socket of open) socket.resetAndDestroy();
    open.clear();
  };
  const server = net.createServer((client) => {
    if (isCut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ port: forwardTo, host: '127.0.0.1' });
    open.add(client);
    open.add(upstream);
    const end = (): void => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  return {
    port: address.port,
    get target() {
      return forwardTo;
    },
    cut: () => {
      isCut = true;
      drop();
    },
    restore: () => {
      isCut = false;
    },
    moveTo: (port) => {
      forwardTo = port;
      drop();
    },
    close: async () => {
      drop();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}
