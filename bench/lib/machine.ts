import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { BenchEnv } from './env.ts';

/** Facts about the machine and every component version, for the report. */
export interface Facts {
  readonly machine: Readonly<Record<string, string>>;
  readonly versions: Readonly<Record<string, string>>;
  readonly stores: Readonly<Record<string, string>>;
}

/** Read from node_modules directly: some packages do not export their package.json. */
function packageVersion(name: string): string {
  try {
    const path = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** node-redis v4, which @node-idempotency/storage-adapter-redis depends on (not the root @redis/client). */
function nestedVersion(parent: string, name: string): string {
  try {
    const from = createRequire(new URL(`../../node_modules/${parent}/package.json`, import.meta.url));
    return (JSON.parse(readFileSync(from.resolve(`${name}/package.json`), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'not installed';
  }
}

function nproc(): string {
  try {
    return execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    return String(os.availableParallelism());
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

export async function gatherFacts(env: BenchEnv): Promise<Facts> {
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  const machine: Record<string, string> = {
    nproc: nproc(),
    cpu,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB total, ${(os.freemem() / 2 ** 30).toFixed(1)} GiB free at start`,
    'load average at start (1, 5, 15 min)': os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(', '),
    os: `${os.type()} ${os.arch()}`,
    node: process.version,
  };
  const memoryDb = new Database(':memory:');
  const sqliteVersion = (memoryDb.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  memoryDb.close();
  const root = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const versions: Record<string, string> = {
    retrysafe: `${root.version} (commit ${gitCommit()})`,
    'better-sqlite3': packageVersion('better-sqlite3'),
    'SQLite library': sqliteVersion,
    pg: packageVersion('pg'),
    ioredis: packageVersion('ioredis'),
    '@aws-lambda-powertools/idempotency': packageVersion('@aws-lambda-powertools/idempotency'),
    '@redis/client (Powertools cache layer)': packageVersion('@redis/client'),
    '@node-idempotency/core': packageVersion('@node-idempotency/core'),
    '@node-idempotency/storage-adapter-redis': packageVersion('@node-idempotency/storage-adapter-redis'),
    'redis (node-redis, used by that adapter)': nestedVersion(
      '@node-idempotency/storage-adapter-redis',
      'redis',
    ),
  };
  const stores: Record<string, string> = {};
  if (env.pgUrl !== undefined) {
    const client = new pg.Client({ connectionString: env.pgUrl });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const setting = async (name: string): Promise<string> =>
        (await client.query<{ v: string }>(`SELECT current_setting('${name}') AS v`)).rows[0]?.v ?? '?';
      versions['PostgreSQL server'] = await setting('server_version');
      stores['postgres'] =
        `synchronous_commit ${await setting('synchronous_commit')}, fsync ${await setting('fsync')}, ` +
        `shared_buffers ${await setting('shared_buffers')}, wal_sync_method ${await setting('wal_sync_method')}`;
    } finally {
      await client.end();
    }
  }
  if (env.redisUrl !== undefined) {
    const redis = new Redis(env.redisUrl);
    redis.on('error', () => undefined);
    try {
      const info = await redis.info('server');
      versions['Redis server'] = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
      stores['redis'] = env.redisSetup;
    } finally {
      await redis.quit().catch(() => undefined);
    }
  }
  stores['sqlite'] = 'files in a temporary directory on the local disk; WAL, synchronous=FULL';
  return { machine, versions, stores };
}
