import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  access,
  appendFile,
  chown,
  constants,
  mkdtemp,
  open,
  readdir,
  readFile,
  realpath,
  rm,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './services.ts';

const run = promisify(execFile);

/** Debian and Ubuntu keep the server binaries here, off PATH, one directory per version. */
const DEBIAN_ROOT = '/usr/lib/postgresql';
/** PostgreSQL refuses to run as root: as root, initdb and pg_ctl run as this account instead. */
const SERVER_ACCOUNT = 'postgres';
const RUNUSER = '/usr/sbin/runuser';
const SETPRIV = '/usr/bin/setpriv';
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

/** Where a test-owned cluster comes from, or why there cannot be one here. */
interface ToolsFound {
  readonly ok: true;
  /** Holds initdb, pg_ctl and postgres. */
  readonly bin: string;
  /** The account the server runs as when this process is root. */
  readonly account: Account | undefined;
  /** setpriv, when there is one: ties the server's life to this process. */
  readonly setpriv: string | undefined;
}

type Tools = ToolsFound | { readonly ok: false; readonly problem: string };

interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

async function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

const SERVER_TOOLS = ['initdb', 'pg_ctl', 'postgres'] as const;

/** `dir` if it holds every server tool (after resolving a symlinked initdb to where it really lives). */
async function serverBin(dir: string): Promise<string | undefined> {
  const real = await realpath(join(dir, 'initdb')).then(dirname, () => undefined);
  if (real === undefined) return undefined;
  for (const tool of SERVER_TOOLS) if (!(await executable(join(real, tool)))) return undefined;
  return real;
}

/** The directory holding initdb, pg_ctl and postgres: from PATH, else the newest Debian-layout version. */
async function findBin(): Promise<string | undefined> {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const found = dir === '' ? undefined : await serverBin(dir);
    if (found !== undefined) return found;
  }
  const versions = await readdir(DEBIAN_ROOT).catch(() => [] as string[]);
  for (const version of versions.sort((a, b) => Number(b) - Number(a))) {
    const found = await serverBin(join(DEBIAN_ROOT, version, 'bin'));
    if (found !== undefined) return found;
  }
  return undefined;
}

async function serverAccount(): Promise<Account | undefined> {
  try {
    const uid = Number((await run('id', ['-u', SERVER_ACCOUNT])).stdout.trim());
    const gid = Number((await run('id', ['-g', SERVER_ACCOUNT])).stdout.trim());
    return Number.isSafeInteger(uid) && uid > 0 ? { name: SERVER_ACCOUNT, uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

let tools: Promise<Tools> | undefined;

function findTools(): Promise<Tools> {
  tools ??= (async (): Promise<Tools> => {
    const bin = await findBin();
    if (bin === undefined) {
      return {
        ok: false,
        problem: `no initdb, pg_ctl and postgres on PATH or under ${DEBIAN_ROOT}/<version>/bin`,
      };
    }
    const setpriv = (await executable(SETPRIV)) ? SETPRIV : undefined;
    if (process.getuid?.() !== 0) return { ok: true, bin, account: undefined, setpriv };
    const account = await serverAccount();
    if (account === undefined || !(await executable(RUNUSER))) {
      return {
        ok: false,
        problem: `running as root, and PostgreSQL refuses root: it needs runuser and a '${SERVER_ACCOUNT}' account`,
      };
    }
    return { ok: true, bin, account, setpriv };
  })();
  return tools;
}

/** Why a test-owned PostgreSQL cluster cannot be started here, or undefined when it can. */
export async function postgresClusterProblem(): Promise<string | undefined> {
  const found = await findTools();
  return found.ok ? undefined : found.problem;
}

/**
 * A PostgreSQL cluster owned by one test: its own data directory, on a free loopback port, trust
 * authentication, `fsync` and `synchronous_commit` on. The postmaster is a child of this process (not
 * a pg_ctl daemon), so it ends with it; still call `destroy()` in `afterEach`/`finally`.
 */
export interface PostgresCluster {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  readonly dataDir: string;
  /**
   * `pg_ctl stop -m immediate`: every server process quits at once, without a checkpoint, as in a
   * crash. The next `start()` runs crash recovery from the WAL.
   */
  crash(): Promise<void>;
  /** Starts the server on the same data directory and port; resolves when it accepts connections. */
  start(): Promise<void>;
  /** A standby only: `pg_ctl promote -w`, it leaves recovery and accepts writes. */
  promote(): Promise<void>;
  /** Stops the server if it runs and removes the directory. Safe to call more than once. */
  destroy(): Promise<void>;
}

/**
 * The postmaster command line. With setpriv, each process in the chain gets SIGKILL when its parent
 * dies, so a test runner killed mid-test takes its cluster with it instead of leaving a server behind.
 */
function postmasterCommand(tools: ToolsFound, dataDir: string): string[] {
  const postgres = [join(tools.bin, 'postgres'), '-D', dataDir];
  const dieWithParent = tools.setpriv === undefined ? [] : [tools.setpriv, '--pdeathsig', 'KILL', '--'];
  if (tools.account === undefined) return [...dieWithParent, ...postgres];
  // runuser forks and waits for the command: both it and the command need the parent-death signal
  // (a change of user clears it, so the inner one is set after runuser switched).
  return [...dieWithParent, RUNUSER, '-u', tools.account.name, '--', ...dieWithParent, ...postgres];
}

/** Whether a PostgreSQL server at `url` accepts a connection and answers a query (within about a second). */
export async function acceptsConnections(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Creates (initdb) and starts a private cluster. Check `postgresClusterProblem()` first.
 *
 * @example
 * ```ts
 * const cluster = await startPostgresCluster();
 * try {
 *   await cluster.crash();
 *   await cluster.start();
 * } finally {
 *   await cluster.destroy();
 * }
 * ```
 */
export interface ClusterOptions {
  /** More `postgresql.conf` lines. */
  readonly config?: readonly string[];
  /**
   * Make a streaming standby of the server on 127.0.0.1:`port` (`pg_basebackup -R -X stream`) instead
   * of a new cluster (initdb). The standby connects to that port for as long as it streams.
   */
  readonly standbyOf?: number;
}

export async function startPostgresCluster(options: ClusterOptions = {}): Promise<PostgresCluster> {
  const found = await findTools();
  if (!found.ok) throw new Error(`cannot start a PostgreSQL cluster: ${found.problem}`);
  const { bin, account } = found;
  const root = await mkdtemp(join(tmpdir(), 'rs-pg-'));
  const dataDir = join(root, 'data');
  const logPath = join(root, 'server.log');
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const logTail = async (): Promise<string> =>
    (await readFile(logPath, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');

  const tool = async (name: string, args: readonly string[]): Promise<void> => {
    const command = join(bin, name);
    try {
      if (account === undefined) await run(command, args);
      else await run(RUNUSER, ['-u', account.name, '--', command, ...args]);
    } catch (error) {
      const { stderr, stdout } = error as { stderr?: string; stdout?: string };
      throw new Error(`${name} ${args.join(' ')} failed: ${(stderr ?? '') + (stdout ?? '')}`.trim(), {
        cause: error,
      });
    }
  };

  // The running postmaster (through its wrappers), and a promise of its end.
  let server: { readonly child: ChildProcess; readonly exited: Promise<void> } | undefined;
  const start = async (): Promise<void> => {
    if (server !== undefined) throw new Error('the cluster is already running');
    const log = await open(logPath, 'a');
    const [command = '', ...args] = postmasterCommand(found, dataDir);
    let child: ChildProcess;
    try {
      child = spawn(command, args, { stdio: ['ignore', log.fd, log.fd] });
    } finally {
      await log.close();
    }
    const state = { ended: false };
    const exited = new Promise<void>((resolve) => {
      const end = (): void => {
        state.ended = true;
        resolve();
      };
      child.once('exit', end);
      child.once('error', end);
    });
    server = { child, exited };
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await acceptsConnections(url))) {
      if (state.ended || Date.now() > deadline) {
        const why = state.ended ? 'exited' : `did not accept connections within ${START_TIMEOUT_MS} ms`;
        throw new Error(`postgres on port ${port} ${why}:\n${await logTail()}`);
      }
      await sleep(50);
    }
  };
  const crash = async (): Promise<void> => {
    const running = server;
    if (running === undefined) throw new Error('the cluster is not running');
    await tool('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
    const gone = await Promise.race([running.exited.then(() => true), sleep(STOP_TIMEOUT_MS, false)]);
    if (!gone) throw new Error(`postgres on port ${port} was told to stop but still runs`);
    server = undefined;
  };
  let destroyed: Promise<void> | undefined;
  const destroy = (): Promise<void> =>
    (destroyed ??= (async () => {
      const running = server;
      if (running !== undefined) {
        // Whatever state a failed test left it in. Failing that, SIGKILL to the wrapper reaches the
        // postmaster through the parent-death signal.
        await crash().catch(() => running.child.kill('SIGKILL'));
        await Promise.race([running.exited, sleep(STOP_TIMEOUT_MS)]);
      }
      await rm(root, { recursive: true, force: true });
    })());

  try {
    if (account !== undefined) await chown(root, account.uid, account.gid);
    if (options.standbyOf !== undefined) {
      // -R writes standby.signal and primary_conninfo; the copied postgresql.conf gets its own port below.
      await tool('pg_basebackup', [
        '-h',
        '127.0.0.1',
        '-p',
        String(options.standbyOf),
        '-U',
        'postgres',
        '-D',
        dataDir,
        '-R',
        '-X',
        'stream',
        '--checkpoint=fast',
        '--no-sync',
      ]);
    } else
      // --no-sync only skips initdb's own flush of the files it creates (a process crash cannot lose
      // them); the server itself runs with fsync on.
      await tool('initdb', [
        '-D',
        dataDir,
        '-U',
        'postgres',
        '-A',
        'trust',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ]);
    await appendFile(
      join(dataDir, 'postgresql.conf'),
      [
        '',
        `port = ${port}`,
        "listen_addresses = '127.0.0.1'",
        // The socket lives in the test's own directory, never in a shared one.
        `unix_socket_directories = '${root}'`,
        'fsync = on',
        'synchronous_commit = on',
        'full_page_writes = on',
        'max_connections = 60',
        'shared_buffers = 16MB',
        ...(options.config ?? []),
        '',
      ].join('\n'),
    );
    await start();
  } catch (error) {
    await destroy().catch(() => undefined);
    throw error;
  }

  const promote = (): Promise<void> => tool('pg_ctl', ['-D', dataDir, '-w', 'promote']);

  return { port, url, dataDir, crash, start, promote, destroy };
}
