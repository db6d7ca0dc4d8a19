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
    stop: async () => {
      await shutdown();
      if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A local Redis Cluster of primaries only, owned by a test. */
export interface RedisCluster {
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

/**
 * Starts `size` cluster-enabled servers in one temp directory, joins them with
 * `redis-cli --cluster create ... --cluster-replicas 0`, and waits for `cluster_state:ok` on every node.
 */
export async function startRedisCluster(size = 3): Promise<RedisCluster> {
  const root = await mkdtemp(join(tmpdir(), 'rs-redis-cluster-'));
  const servers: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.shutdown()));
    await rm(root, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < size; i++) {
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
      '0',
      '--cluster-yes',
    ]);
    for (const port of ports) {
      await waitFor(`cluster_state:ok on ${port}`, async () =>
        (await rawCommand(port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok'),
      );
    }
    return { ports, stop };
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
