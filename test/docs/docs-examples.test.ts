import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allBlocks, exampleProject, runBlock, runnerOf, typeCheck } from './example-project.ts';
import { FakePaymentsApi } from './payments-api.ts';

/**
 * The docs cannot rot: every TypeScript and JavaScript block of README.md, docs/ and examples/ is
 * type-checked in one program against the built package (as a user's project sees it), and every block
 * marked `<!-- example: run -->` runs against the fake payments API and must exit 0.
 */
const blocks = allBlocks();
const checked = blocks.filter((block) => block.mode !== 'skip');
const runnable = blocks.filter((block) => block.mode === 'run');
const projects: string[] = [];

afterAll(() => {
  for (const dir of projects) rmSync(dir, { recursive: true, force: true });
});

describe('docs examples', () => {
  it('finds the blocks, and every skipped one says why', () => {
    expect(checked.length).toBeGreaterThan(10);
    expect(runnable.some((block) => block.file === 'README.md')).toBe(true);
    for (const block of blocks.filter((b) => b.mode === 'skip')) expect(block.reason).toBeTruthy();
  });

  it('type-checks every block that is not skipped', () => {
    const dir = exampleProject('check', checked);
    projects.push(dir);
    const findings = typeCheck(dir, checked).map(({ where, message }) => `${where}: ${message}`);
    expect(findings).toEqual([]);
  }, 120_000);

  describe('runs the runnable blocks against the fake payments API', () => {
    const api = new FakePaymentsApi();
    let url = '';
    beforeAll(async () => {
      url = await api.start();
    });
    afterAll(() => api.stop());

    it.each(runnable.map((block) => [`${block.file}:${String(block.line)}`, block] as const))(
      '%s',
      async (_where, block) => {
        const dir = exampleProject('run', [block]);
        projects.push(dir);
        const outcome = await runBlock(block, dir, { PAYMENTS_URL: url });
        expect({ code: outcome.code, signal: outcome.signal }, outcome.output).toEqual({
          code: 0,
          signal: null,
        });
        // A test file that ran no test would pass as well: say that its tests ran.
        if (runnerOf(block) === 'vitest') expect(outcome.output).toMatch(/Tests\s+\d+ passed/);
        if (runnerOf(block) === 'node:test') expect(outcome.output).toMatch(/# pass [1-9]/);
      },
      120_000,
    );
  });
});
