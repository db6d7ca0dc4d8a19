import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Figures {
  readonly logical: number;
  readonly calls: number;
  readonly charges: number;
  readonly duplicates: number;
  readonly unknown: number;
  readonly missing: number;
  readonly storedErrorCharges: number;
  readonly records?: number;
}

let child: ChildProcess | undefined;

afterAll(() => {
  // Only if the test failed mid-run: the demo stops its own servers and workers when it ends.
  if (child?.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
});

function runDemo(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'demo/run.ts', '--json'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let stdout = '';
    let stderr = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    proc.once('error', reject);
    proc.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run demo -- --json', () => {
  it(
    'double-charges (and, with a 500 stored under the key, never charges) with plain retries, and charges every order exactly once through retrysafe',
    // Two variants of six runs with kills and 1-second faults: well past the default on a busy machine.
    { timeout: 180_000 },
    async () => {
      const { code, stdout, stderr } = await runDemo();
      expect(code, stderr).toBe(0);
      // Exactly one JSON object and nothing else on stdout.
      const lines = stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      const report = JSON.parse(lines[0] ?? '') as Record<string, Figures>;
      expect(Object.keys(report).sort()).toEqual(['naive', 'retrysafe']);
      const { naive, retrysafe } = report as { naive: Figures; retrysafe: Figures };

      expect(naive.logical).toBeGreaterThan(0);
      expect(retrysafe.logical).toBe(naive.logical);
      expect(retrysafe.records).toBe(retrysafe.logical);

      expect(naive.duplicates).toBeGreaterThan(0);
      // A 500 stored under the key: plain retries with a stable key get it replayed on every try and every
      // run, so that order is never charged; retrysafe proves it absent and charges it exactly once.
      expect(naive.storedErrorCharges).toBe(0);
      expect(retrysafe.storedErrorCharges).toBe(1);
      expect(naive.charges).toBe(naive.logical - naive.missing + naive.duplicates);

      expect(retrysafe.duplicates).toBe(0);
      expect(retrysafe.missing).toBe(0);
      expect(retrysafe.unknown).toBe(0);
      expect(retrysafe.charges).toBe(retrysafe.logical);
    },
  );
});
