import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowProblems } from '../bench/lib/rows.ts';

/**
 * The benchmark still runs: one small scenario on SQLite (no server needed), quick, into a temporary
 * directory. Checks only that it exits cleanly and writes well-formed rows; never how fast anything was.
 */
describe('npm run bench (smoke)', () => {
  let out: string;

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'retrysafe-bench-smoke-'));
  });

  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
  });

  it('runs the overhead scenario quickly and writes well-formed rows', async () => {
    const args = [
      '--import',
      'tsx',
      'bench/run.ts',
      '--only',
      'overhead',
      '--quick',
      '--stores',
      'sqlite',
      '--out',
      out,
    ];
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let text = '';
      child.stderr.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
      });
      child.once('error', reject);
      child.once('exit', (exitCode) => {
        resolve({ code: exitCode, stderr: text });
      });
    });
    expect(code, stderr).toBe(0);

    const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as {
      command: string;
      rows: unknown[];
    };
    expect(results.command).toBe('npm run bench -- --only overhead --quick --stores sqlite --out ' + out);
    expect(results.rows.length).toBeGreaterThanOrEqual(2);
    for (const row of results.rows) expect(rowProblems(row)).toEqual([]);
    const impls = results.rows.map((r) => (r as { impl: string; store: string }).impl);
    expect(impls).toEqual(expect.arrayContaining(['retrysafe', 'floor']));
    for (const r of results.rows as { scenario: string; store: string; ops_per_s: number | null }[]) {
      expect(r.scenario).toBe('overhead');
      expect(r.store).toBe('sqlite');
      expect(r.ops_per_s).not.toBeNull();
    }
    const retrysafeRow = (results.rows as { impl: string; ratio_to_floor: number | null }[]).find(
      (r) => r.impl === 'retrysafe',
    );
    expect(retrysafeRow?.ratio_to_floor).not.toBeNull();

    const markdown = await readFile(join(out, 'RESULTS.md'), 'utf8');
    expect(markdown).toContain('--only overhead --quick');
    expect(markdown).toContain('| nproc');
  });

  it('the row check rejects malformed rows', () => {
    const good = {
      scenario: 'overhead',
      case: 'fresh key',
      impl: 'retrysafe',
      store: 'sqlite',
      downstream: 'no-op',
      ops_per_s: 1000,
      p50_ms: 1,
      p99_ms: 2,
      ratio_to_floor: null,
      note: null,
      extra: {},
    };
    expect(rowProblems(good)).toEqual([]);
    expect(rowProblems({ ...good, p50_ms: undefined })).not.toEqual([]);
    expect(rowProblems({ ...good, p99_ms: 0.5 })).toEqual(['p99_ms is below p50_ms']);
    expect(rowProblems({ ...good, ops_per_s: Number.NaN })).not.toEqual([]);
    expect(rowProblems({ ...good, store: '' })).not.toEqual([]);
    expect(rowProblems({ ...good, surprise: 1 })).toEqual(['unexpected field surprise']);
  });
});
