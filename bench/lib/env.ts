import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { acceptsConnections } from '../../test/helpers/postgres-server.ts';
import { freePort } from '../../test/helpers/services.ts';

const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Where this run's stores live, and how to tear them down. */
export interface BenchEnv {
  /** Short random id: part of every schema, key prefix and file name of this run. */
  readonly runId: string;
  /** Directory for SQLite files and the private Redis server, removed by `close()`. */
  readonly dir: string;
  /** `undefined` when PostgreSQL is unreachable: its rows are skipped and the report says so. */
  readonly pgUrl: string | undefined;
  readonly redisUrl: string | undefined;
  /** How the Redis server was obtained and configured, for the report. */
  readonly redisSetup: string;
  /** The Redis server keeps no append-only file: the store is opened with `allowVolatile`. */
  readonly redisVolatile: boolean;
  /** The Redis server was started for this run: profiling may change its SLOWLOG settings. */
  readonly redisOwned: boolean;
  readonly skipped: readonly string[];
  close(): Promise<void>;
}

/**
 * Finds the services. PostgreSQL: `BENCH_PG_URL` or the local default. Redis: `BENCH_REDIS_URL`, else a
 * private `redis-server` started for the run with an fsynced append-only file (`appendfsync everysec`,
 * the weakest setting the Redis store accepts), so that every Redis contender runs on the same durable
 * server and nothing else shares it; else the local default.
 */
export async function openEnv(wanted: { postgres: boolean; redis: boolean }): Promise<BenchEnv> {
  const runId = randomBytes(3).toString('hex');
  const dir = await mkdtemp(join(tmpdir(), 'retrysafe-bench-'));
  const skipped: string[] = [];
  const closers: (() => Promise<void>)[] = [];

  let pgUrl: string | undefined;
  if (wanted.postgres) {
    const url = process.env['BENCH_PG_URL'] ?? DEFAULT_PG_URL;
    if (await acceptsConnections(url)) pgUrl = url;
    else skipped.push('postgres (unreachable: set BENCH_PG_URL)');
  }

  let redisUrl: string | undefined;
  let redisSetup = 'none';
  let redisVolatile = false;
  let redisOwned = false;
  if (wanted.redis) {
    const given = process.env['BENCH_REDIS_URL'];
    if (given !== undefined) {
      redisUrl = given;
      redisSetup = 'the server at BENCH_REDIS_URL, as configured';
    } else if (hasRedisServer()) {
      const server = await startRedis(dir);
      closers.push(server.stop);
      redisUrl = server.url;
      redisOwned = true;
      redisSetup = 'a private redis-server started for the run: appendonly yes, appendfsync everysec, no RDB';
    } else {
      redisUrl = DEFAULT_REDIS_URL;
      redisSetup = 'the local server on the default port, as configured';
    }
    const persistence = await redisPersistence(redisUrl);
    if (persistence === undefined) {
      skipped.push('redis (unreachable: set BENCH_REDIS_URL)');
      redisUrl = undefined;
    } else {
      redisVolatile = persistence.appendonly !== 'yes';
      redisSetup += ` (appendonly ${persistence.appendonly}, appendfsync ${persistence.appendfsync})`;
    }
  }

  return {
    runId,
    dir,
    pgUrl,
    redisUrl,
    redisSetup,
    redisVolatile,
    redisOwned,
    skipped,
    close: async () => {
      for (const close of closers.reverse()) await close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function redisPersistence(
  url: string,
): Promise<{ appendonly: string; appendfsync: string } | undefined> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const [, appendonly] = (await client.config('GET', 'appendonly')) as [string, string];
    const [, appendfsync] = (await client.config('GET', 'appendfsync')) as [string, string];
    return { appendonly, appendfsync };
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function startRedis(parent: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = join(parent, 'redis');
  const port = await freePort();
  await mkdir(dir);
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir];
  const child: ChildProcess = spawn(
    'redis-server',
    [...args, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if ((await redisPersistence(url)) !== undefined) break;
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error('the private redis-server did not start');
    await sleep(50);
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<boolean>((resolve) => {
        child.once('exit', () => {
          resolve(true);
        });
      });
      child.kill('SIGTERM');
      if (!(await Promise.race([exited, sleep(5000).then(() => false)]))) child.kill('SIGKILL');
    },
  };
}
