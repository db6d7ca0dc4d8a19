import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { SCRIPT_NAMES } from '../../src/stores/redis/scripts.ts';

const SCRIPTS_DIR = new URL('../../src/stores/redis/scripts/', import.meta.url);
const prelude = (): string => readFileSync(new URL('lib.lua', SCRIPTS_DIR), 'utf8');
const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');

/** SHA1 of each store script as the store loads it (the shared prelude, a newline, the script). */
function storeScriptShas(): Map<string, string> {
  const lib = prelude();
  const shas = new Map<string, string>();
  for (const name of SCRIPT_NAMES) {
    shas.set(sha1(`${lib}\n${readFileSync(new URL(`${name}.lua`, SCRIPTS_DIR), 'utf8')}`), name);
  }
  return shas;
}

/** Per script: runs, total server-side µs per run, and the commands it called (count and µs per run). */
export interface ScriptTime {
  readonly runs: number;
  readonly usPerRun: number;
  readonly inner: Readonly<Record<string, { perRun: number; usPerRun: number }>>;
}

export interface ScriptTimes {
  readonly perScript: Readonly<Record<string, ScriptTime>>;
}

type SlowlogEntry = [number, number, number, string[], string];

/** Sets a zero SLOWLOG threshold while `work` runs and returns its entries, oldest first. */
async function slowlog(redis: Redis, work: () => Promise<void>): Promise<SlowlogEntry[]> {
  const [, threshold] = (await redis.config('GET', 'slowlog-log-slower-than')) as [string, string];
  const [, maxLen] = (await redis.config('GET', 'slowlog-max-len')) as [string, string];
  await redis.config('SET', 'slowlog-max-len', '1000000');
  await redis.slowlog('RESET');
  await redis.config('SET', 'slowlog-log-slower-than', '0');
  try {
    await work();
  } finally {
    await redis.config('SET', 'slowlog-log-slower-than', threshold);
  }
  const entries = (await redis.slowlog('GET', -1)) as SlowlogEntry[];
  await redis.slowlog('RESET');
  await redis.config('SET', 'slowlog-max-len', maxLen);
  return entries.sort((a, b) => a[0] - b[0]);
}

/**
 * Records every command's server-side duration while `work` runs (Redis 7 logs the commands a script
 * calls before the script itself, which lets them be attributed to it). Only for a server the
 * benchmark started itself: it changes the server's SLOWLOG settings and puts them back.
 */
export async function withScriptTimes(url: string, work: () => Promise<void>): Promise<ScriptTimes> {
  const redis = new Redis(url);
  redis.on('error', () => undefined);
  try {
    const entries = await slowlog(redis, work);
    const names = storeScriptShas();
    const totals = new Map<
      string,
      { runs: number; us: number; inner: Map<string, { n: number; us: number }> }
    >();
    let pending: { name: string; us: number }[] = [];
    for (const [, , us, args, client] of entries) {
      const command = (args[0] ?? '?').toUpperCase();
      if (command === 'SLOWLOG' || command === 'CONFIG') continue;
      // Commands a script runs are logged with the pseudo client "?:0", before the script itself.
      if (client === '?:0') {
        pending.push({ name: command, us });
        continue;
      }
      const name =
        command === 'EVALSHA' || command === 'EVAL' ? (names.get(args[1] ?? '') ?? 'other script') : command;
      const total = totals.get(name) ?? {
        runs: 0,
        us: 0,
        inner: new Map<string, { n: number; us: number }>(),
      };
      total.runs++;
      total.us += us;
      for (const call of pending) {
        const inner = total.inner.get(call.name) ?? { n: 0, us: 0 };
        inner.n++;
        inner.us += call.us;
        total.inner.set(call.name, inner);
      }
      pending = [];
      totals.set(name, total);
    }
    const perScript: Record<string, ScriptTime> = {};
    for (const [name, total] of totals) {
      const inner: Record<string, { perRun: number; usPerRun: number }> = {};
      for (const [command, t] of total.inner)
        inner[command] = { perRun: t.n / total.runs, usPerRun: t.us / total.runs };
      perScript[name] = { runs: total.runs, usPerRun: total.us / total.runs, inner };
    }
    return { perScript };
  } finally {
    await redis.quit().catch(() => undefined);
  }
}

/**
 * Server-side µs of running the store's shared prelude (`lib.lua`) followed by `return 1`: what every
 * store script pays before its own work.
 */
export async function preludeCost(url: string, runs: number): Promise<number> {
  const redis = new Redis(url);
  redis.on('error', () => undefined);
  try {
    const sha = (await redis.script('LOAD', `${prelude()}\nreturn 1`)) as string;
    const entries = await slowlog(redis, async () => {
      for (let i = 0; i < runs; i++) await redis.evalsha(sha, 0);
    });
    const own = entries.filter(([, , , args]) => (args[0] ?? '').toUpperCase() === 'EVALSHA');
    return own.reduce((sum, [, , us]) => sum + us, 0) / Math.max(1, own.length);
  } finally {
    await redis.quit().catch(() => undefined);
  }
}

export function describeScriptTimes(times: ScriptTimes): string {
  return Object.entries(times.perScript)
    .map(([name, t]) => {
      const innerUs = Object.values(t.inner).reduce((sum, c) => sum + c.usPerRun, 0);
      const calls = Object.entries(t.inner)
        .map(([command, c]) => `${command}×${Math.round(c.perRun * 10) / 10}`)
        .join(' ');
      return (
        `${name} ${t.usPerRun.toFixed(1)} µs` +
        (calls === '' ? '' : ` (of which ${innerUs.toFixed(1)} µs in ${calls}; the rest is Lua)`)
      );
    })
    .join('; ');
}

/** Per call: every top-level command or script with its count and server µs, and the total. */
export function describePerCall(times: ScriptTimes, calls: number): string {
  let total = 0;
  const parts = Object.entries(times.perScript).map(([name, t]) => {
    total += (t.usPerRun * t.runs) / calls;
    return `${name}×${Math.round((t.runs / calls) * 10) / 10} (${t.usPerRun.toFixed(1)} µs each)`;
  });
  return `${parts.join(', ')}: ${total.toFixed(1)} µs of server time per call`;
}
