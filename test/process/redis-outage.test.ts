import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DURABLE_ARGS, rawCommand, startRedisServer, type RedisServer } from '../helpers/redis-server.ts';
import { describeOutageSuite, missingCommand, toolGate, type OutageServer } from './outage-suite.ts';

const GONE_TIMEOUT_MS = 5_000;

/** The server's own pid, as it reports it. */
async function serverPid(port: number): Promise<number> {
  const info = await rawCommand(port, ['INFO', 'server']);
  const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new Error(`no process_id in INFO from port ${port}`);
  return pid;
}

async function untilGone(pid: number): Promise<void> {
  const deadline = Date.now() + GONE_TIMEOUT_MS;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`redis-server ${pid} still runs after SIGKILL`);
    await sleep(10);
  }
}

/**
 * An AOF server (`appendfsync always`) in a directory of the test's own. The crash is SIGKILL; the
 * restart is a new server on the same directory and port, which loads the append-only file.
 */
async function startDurableRedis(): Promise<OutageServer> {
  const dir = await mkdtemp(join(tmpdir(), 'rs-redis-outage-'));
  // The server that runs now, if any. A killed one is forgotten: there is nothing left to stop.
  let running: RedisServer | undefined;
  const dispose = async (): Promise<void> => {
    try {
      await running?.stop();
    } finally {
      running = undefined;
      await rm(dir, { recursive: true, force: true });
    }
  };
  try {
    running = await startRedisServer({ dir, args: DURABLE_ARGS });
  } catch (error) {
    await dispose();
    throw error;
  }
  const { port } = running;
  return {
    spec: `redis:rs-outage:@${port}`,
    crash: async () => {
      const pid = await serverPid(port);
      running = undefined;
      process.kill(pid, 'SIGKILL');
      await untilGone(pid);
    },
    restart: async () => {
      running = await startRedisServer({ dir, port, args: DURABLE_ARGS });
    },
    dispose,
  };
}

describeOutageSuite({
  title: 'Redis',
  crash: 'SIGKILL, append-only file fsynced always',
  enabled: toolGate('the Redis outage test', await missingCommand('redis-server')),
  start: startDurableRedis,
  // With the server gone, the store's client fails a command only after two reconnect attempts,
  // which back off to seconds apart: a run that tried every remaining id would take minutes.
  stopAfterUnavailable: 6,
});
