import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './services.ts';

/** Settings of an AOF server that keeps every acknowledged write (the configuration the store wants). */
export const DURABLE_ARGS = ['--appendonly', 'yes', '--appendfsync', 'always', '--save', ''] as const;

const START_TIMEOUT_MS = 10_000;

/**
 * Sends one command over a raw RESP connection and returns the raw reply text. Test plumbing only: it
 * needs no client library, so a helper can probe a server that a client would retry against forever.
 */
export async function rawCommand(port: number, args: readonly string[], timeoutMs = 2_000): Promise<string> {
  const payload = `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply from 127.0.0.1:${port} to ${args[0] ?? ''}`));
    }, timeoutMs);
    socket.once('connect', () => socket.write(payload));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (complete(reply)) {
        clearTimeout(timer);
        socket.end();
        resolve(reply);
      }
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(reply);
    });
  });
}

/** Whether a simple, error, integer or bulk string reply has fully arrived. */
function complete(reply: string): boolean {
  const header = reply.indexOf('\r\n');
  if (header < 0) return false;
  if (!reply.startsWith('$')) return true;
  const length = Number(reply.slice(1, header));
  return length < 0 || reply.length >= header + 2 + length + 2;
}

async function waitFor(what: string, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await ready().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A `redis-server` child process owned by a test, on a free loopback port, in its own directory. */
export interface RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly url: string;
  /** SHUTDOWN (the AOF is flushed) and wait for the process to exit. */
  shutdown(): Promise<void>;
  /** SIGKILL (a crash: nothing is flushed, replicas get nothing more) and wait for the exit. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and directory (it reloads its AOF). */
  restart(): Promise<void>;
  /** SIGSTOP: the process stays, answers nothing and acknowledges nothing until {@link resume}. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** Shuts down and removes the directory. */
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly args?: readonly string[];
  readonly dir?: string;
  readonly port?: number;
}

/**
 * Starts `redis-server` and waits until it answers PING.
 *
 * @example
 * ```ts
 * const server = await startRedisServer({ args: DURABLE_ARGS });
 * try { ... } finally { await server.stop(); }
 * ```
 */
export async function startRedisServer(options: StartOptions = {}): Promise<RedisServer> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'rs-redis-')));
  const port = options.port ?? (await freePort());
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...(options.args ?? [])];
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const spawned = spawn('redis-server', args, { stdio: 'ignore' });
    child = spawned;
    const exited = new Promise<never>((_, reject) => {
      spawned.once('error', reject);
      spawned.once('exit', (code) => {
        reject(new Error(`redis-server on port ${port} exited early (code ${String(code)})`));
      });
    });
    exited.catch(() => undefined);
    await Promise.race([
      waitFor(`redis-server on port ${port}`, async () =>
        (await rawCommand(port, ['PING'])).startsWith('+PONG'),
      ),
      exited,
    ]);
  };

  const shutdown = async (): Promise<void> => {
    const running = child;
    child = undefined;
    // A process killed by a signal has exitCode null and signalCode set: it is gone all the same.
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) =>
      running.once('exit', () => {
        resolve();
      }),
    );
    await rawCommand(port, ['SHUTDOWN']).catch(() => undefined);
    const killed = await Promise.race([exited.then(() => false), sleep(5_000).then(() => true)]);
    if (killed) {
      running.kill('SIGKILL');
      await exited;
    }
  };

  const kill = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => {
      running.once('exit', () => {
        resolve();
      });
    });
    running.kill('SIGKILL');
    await exited;
  };

  await launch();
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    shutdown,
    kill,
    restart: async () => {
      await shutdown();
      await launch();
    },
    pause: () => {
      child?.kill('SIGSTOP');
    },
    resume: () => {
      child?.kill('SIGCONT');
    },
    stop: async () => {
      await shutdown();
      if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A local Redis Cluster owned by a test. */
export interface RedisCluster {
  /** Every node's port, primaries and replicas. */
  readonly ports: readonly number[];
  /** Every node, in the order of `ports`. */
  readonly servers: readonly RedisServer[];
  stop(): Promise<void>;
}

/** One shard of a cluster as `CLUSTER NODES` says: its primary and the replicas that follow it. */
export interface ClusterShard {
  readonly primary: number;
  readonly replicas: readonly number[];
  /** Slot ranges `[from, to]` the primary serves. */
  readonly slots: readonly (readonly [number, number])[];
}

/** The shards of the cluster that `port` belongs to, read from its `CLUSTER NODES`. */
export async function clusterShards(port: number): Promise<ClusterShard[]> {
  const reply = await rawCommand(port, ['CLUSTER', 'NODES']);
  // A bulk string: `$<length>\r\n<lines>\r\n`; each line is `id ip:port@bus flags master ... slots`.
  const lines =
    reply
      .split('\r\n')[1]
      ?.split('\n')
      .filter((line) => line.trim() !== '') ?? [];
  const nodes = lines.map((line) => {
    const [id = '', address = '', flags = '', master = '', , , , , ...slots] = line.split(' ');
    const nodePort = Number(address.split('@')[0]?.split(':')[1]);
    return { id, port: nodePort, isPrimary: flags.split(',').includes('master'), master, slots };
  });
  return nodes
    .filter((node) => node.isPrimary)
    .map((primary) => ({
      primary: primary.port,
      replicas: nodes.filter((node) => node.master === primary.id).map((node) => node.port),
      slots: primary.slots.map((range) => {
        const [from = '', to = from] = range.split('-');
        return [Number(from), Number(to)] as const;
      }),
    }));
}

/** The hash slot of a key (`CLUSTER KEYSLOT`, asked of the node at `port`). */
export async function keySlot(port: number, key: string): Promise<number> {
  const reply = await rawCommand(port, ['CLUSTER', 'KEYSLOT', key]);
  return Number(reply.slice(1).trim());
}

export interface ClusterOptions {
  /** Primaries (default 3). */
  readonly primaries?: number;
  /** Replicas per primary (default 0): `--cluster-replicas`. */
  readonly replicasPerPrimary?: number;
}

/**
 * Starts `primaries × (1 + replicasPerPrimary)` cluster-enabled servers in one temp directory, joins
 * them with `redis-cli --cluster create ... --cluster-replicas N`, and waits for `cluster_state:ok` on
 * every node and, with replicas, for every primary to count its replicas connected.
 */
export async function startRedisCluster(options: ClusterOptions = {}): Promise<RedisCluster> {
  const primaries = options.primaries ?? 3;
  const replicasPerPrimary = options.replicasPerPrimary ?? 0;
  const root = await mkdtemp(join(tmpdir(), 'rs-redis-cluster-'));
  const servers: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.shutdown()));
    await rm(root, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < primaries * (1 + replicasPerPrimary); i++) {
      const port = await freePort();
      servers.push(
        await startRedisServer({
          port,
          dir: root,
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${port}.conf`,
            '--cluster-node-timeout',
            '2000',
            '--appendonly',
            'no',
            '--save',
            '',
            // A replica's full sync starts at once instead of after the default 5 s wait.
            '--repl-diskless-sync-delay',
            '0',
          ],
        }),
      );
    }
    const ports = servers.map((server) => server.port);
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      String(replicasPerPrimary),
      '--cluster-yes',
    ]);
    for (const port of ports) {
      await waitFor(`cluster_state:ok on ${port}`, async () =>
        (await rawCommand(port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok'),
      );
    }
    if (replicasPerPrimary > 0) {
      const first = ports[0] ?? 0;
      await waitFor('every primary counting its replicas', async () => {
        const shards = await clusterShards(first);
        if (shards.length !== primaries) return false;
        for (const shard of shards) {
          const info = await rawCommand(shard.primary, ['INFO', 'replication']);
          const online = info.match(/state=online/g)?.length ?? 0;
          if (shard.replicas.length !== replicasPerPrimary || online < replicasPerPrimary) return false;
        }
        return true;
      });
    }
    return { ports, servers, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function run(command: string, args: readonly string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} failed (${String(code)}): ${stderr}`));
    });
  });
}
