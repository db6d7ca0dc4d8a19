import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { retrysafe, type RetrySafe } from '../../src/index.ts';
import type { Store } from '../../src/stores/types.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(ROOT, 'dist/cli/bin.js');
const LOCK = path.join(ROOT, 'node_modules/.cache/retrysafe-cli-build.lock');

/**
 * `npm test` builds before vitest; a bare `vitest run` builds once here (without `rm -rf dist`, so a
 * suite reading dist meanwhile is not disturbed). Parallel files wait for the one that builds.
 */
export async function ensureBuilt(): Promise<void> {
  if (existsSync(BIN)) return;
  mkdirSync(path.dirname(LOCK), { recursive: true });
  try {
    mkdirSync(LOCK);
  } catch {
    for (let i = 0; i < 600 && !existsSync(BIN); i++) await sleep(200);
    return;
  }
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
    execFileSync(process.execPath, ['scripts/copy-assets.mjs'], { cwd: ROOT, stdio: 'inherit' });
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built bin in a child process (stdout and stderr are pipes: no terminal, so no colour). */
export function cli(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: options.cwd ?? ROOT,
        env: { ...process.env, NO_COLOR: '', RETRYSAFE_STORE: '', ...options.env },
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') {
          reject(new Error(`could not run the CLI: ${error.message}`, { cause: error }));
          return;
        }
        resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
      },
    );
  });
}

/** Parses `--json` output, failing with the whole output when it is not JSON. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the shape it expects
export function json<T = Record<string, unknown>>(ran: Ran): T {
  try {
    return JSON.parse(ran.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${ran.code}):\n${ran.stdout}\n${ran.stderr}`);
  }
}

export interface Seeded {
  readonly succeeded: string;
  readonly failed: string;
  readonly unknown: string;
  readonly lapsed: string;
}

/**
 * Writes records in every interesting state through the real library: a success, a definitive
 * failure, an unknown outcome (the call threw after sending), and an attempt whose holder vanished
 * (reserved with a 3 ms lease and never settled).
 */
export async function seed(store: Store, label: string): Promise<{ rs: RetrySafe; keys: Seeded }> {
  const rs = retrysafe({ store, namespace: 'clitest' });
  const charge = rs.operation({
    name: 'charge',
    version: 1,
    key: (input: { id: string; outcome: string }) => ({ id: input.id }),
    payload: (input) => ({ id: input.id, amount: 100 }),
    call: (input) => {
      if (input.outcome === 'ok') return Promise.resolve({ chargeId: `ch_${input.id}` });
      if (input.outcome === 'declined') return Promise.reject(new Error('card declined'));
      return Promise.reject(new Error('socket hang up after sending'));
    },
    classify: (error) => (error instanceof Error && error.message === 'card declined' ? 'failed' : 'unknown'),
    providerRef: (value) => value.chargeId,
  });
  const input = (name: string, outcome: string) => ({ id: `${label}-${name}`, outcome });
  await charge(input('ok', 'ok'));
  await charge(input('declined', 'declined')).catch(() => undefined);
  await charge(input('lost', 'lost')).catch(() => undefined);
  const lapsed = charge.keyOf(input('vanished', 'ok'));
  const begun = await store.begin({
    key: lapsed,
    operation: charge.id,
    fingerprint: 'sha256:vanished',
    retryFailed: false,
    token: 'vanished-holder',
    leaseMs: 3,
  });
  if (!begun.reserved) throw new Error('expected to reserve the vanishing attempt');
  await sleep(50);
  return {
    rs,
    keys: {
      succeeded: charge.keyOf(input('ok', 'ok')),
      failed: charge.keyOf(input('declined', 'declined')),
      unknown: charge.keyOf(input('lost', 'lost')),
      lapsed,
    },
  };
}
