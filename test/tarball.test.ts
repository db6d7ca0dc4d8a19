import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The package as npm users get it: `npm pack`, checked by publint and attw (ESM-only profile), installed
 * in an empty folder with one driver (better-sqlite3, linked from this repository's node_modules: no
 * native build), then used through every public subpath from ESM and from CommonJS (`require()` of an
 * ES module, Node 20.19 and later), and the shipped store contract run under `node:test`. `npm test`
 * builds first; without a build these checks are skipped rather than run against stale files.
 */
const ROOT = resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
  files: string[];
};
const subpaths = Object.keys(pkg.exports)
  .filter((name) => name !== './package.json')
  .map((name) => (name === '.' ? 'retrysafe' : `retrysafe/${name.slice(2)}`));

/** Runs a local bin from this repository with the given arguments; returns its exit code and output. */
function tool(bin: string, args: readonly string[]): { status: number | null; output: string } {
  const done = spawnSync(process.execPath, [join(ROOT, 'node_modules', bin), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { status: done.status, output: `${done.stdout}${done.stderr}` };
}

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
/** `require()` of an ES module without a flag: Node 20.19+, 22.12+ and every later line. */
const requireEsm = major > 22 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19);

describe.runIf(existsSync(join(ROOT, 'dist', 'index.js')))('the packed tarball', () => {
  let work = '';
  let tarball = '';
  let app = '';

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'retrysafe-tarball-'));
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' }),
    ) as { filename: string }[];
    tarball = join(work, packed[0]?.filename ?? 'missing.tgz');
    app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    execFileSync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', tarball],
      { cwd: app, encoding: 'utf8' },
    );
    // The driver comes from this repository, already built for this machine, as a user's would be.
    for (const name of ['better-sqlite3', 'fast-check']) {
      symlinkSync(join(ROOT, 'node_modules', name), join(app, 'node_modules', name), 'dir');
    }
  }, 120_000);

  afterAll(() => {
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  it('passes publint and attw (ESM-only profile)', () => {
    const publint = tool('publint/src/cli.js', ['run', tarball, '--strict']);
    expect(publint.output).toContain('All good');
    expect(publint.status).toBe(0);
    const attw = tool('@arethetypeswrong/cli/dist/index.js', [
      tarball,
      '--profile',
      'esm-only',
      '--format',
      'json',
    ]);
    expect(attw.status, attw.output).toBe(0);
  });

  it('ships the docs the README links to, and no test or source files', () => {
    const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(listing).toContain('package/docs/api.md');
    expect(listing).toContain('package/docs/tuning.md');
    expect(listing).toContain('package/docs/testing.md');
    expect(listing.filter((file) => /^package\/(src|test)\//.test(file))).toEqual([]);
    expect(listing.filter((file) => file.endsWith('.test.js'))).toEqual([]);
  });

  it('runs a short program through every public subpath from ESM', () => {
    writeFileSync(
      join(app, 'every-subpath.mjs'),
      `const subpaths = ${JSON.stringify(subpaths)};
       const shapes = {};
       for (const name of subpaths) shapes[name] = Object.keys(await import(name)).length;
       const { retrysafe } = await import('retrysafe');
       const { sqliteStore } = await import('retrysafe/sqlite');
       const { idempotencyKeyHeader } = await import('retrysafe/providers');
       const store = sqliteStore({ path: ':memory:' });
       const rs = retrysafe({ store, namespace: 'app' });
       let calls = 0;
       const send = rs.operation({
         name: 'send', version: 1, key: (id) => ({ id }),
         call: async (id, { providerKey }) => ({ id, providerKey, n: ++calls }),
       });
       const first = await send(7);
       const again = await send(7);
       const profile = idempotencyKeyHeader({ retentionMs: null });
       console.log(JSON.stringify({ shapes, first, again: again.replayed, calls, profile: profile.name }));
       await store.close();`,
    );
    const out = JSON.parse(
      execFileSync(process.execPath, ['every-subpath.mjs'], { cwd: app, encoding: 'utf8' }),
    ) as {
      shapes: Record<string, number>;
      first: { value: { n: number }; replayed: boolean };
      again: boolean;
      calls: number;
      profile: string;
    };
    for (const name of subpaths) expect(out.shapes[name], name).toBeGreaterThan(0);
    expect(out.first.replayed).toBe(false);
    expect(out.again).toBe(true);
    expect(out.calls).toBe(1);
    expect(typeof out.profile).toBe('string');
  });

  it.runIf(requireEsm)('require() loads every subpath from CommonJS', () => {
    writeFileSync(
      join(app, 'every-subpath.cjs'),
      `const subpaths = ${JSON.stringify(subpaths)};
       const shapes = {};
       for (const name of subpaths) shapes[name] = Object.keys(require(name)).length;
       const { retrysafe, deriveKey } = require('retrysafe');
       const { sqliteStore } = require('retrysafe/sqlite');
       const rs = retrysafe({ store: sqliteStore({ path: ':memory:' }), namespace: 'app' });
       const key = deriveKey({ namespace: 'app', operation: 'send', version: 1, fields: { id: 7 } });
       console.log(JSON.stringify({ shapes, key, client: typeof rs.operation }));`,
    );
    const done = spawnSync(process.execPath, ['every-subpath.cjs'], { cwd: app, encoding: 'utf8' });
    expect(done.status, done.stderr).toBe(0);
    const out = JSON.parse(done.stdout) as { shapes: Record<string, number>; key: string; client: string };
    for (const name of subpaths) expect(out.shapes[name], name).toBeGreaterThan(0);
    expect(out.key).toMatch(/^rs1:app:send@1:-:[0-9a-f]{64}$/);
    expect(out.client).toBe('function');
  });

  it('runs the shipped store contract under node:test against SQLite in memory', () => {
    writeFileSync(
      join(app, 'contract.test.mjs'),
      `import { after, before, describe, it } from 'node:test';
       import { sqliteStore } from 'retrysafe/sqlite';
       import { runStoreContract } from 'retrysafe/testing';
       runStoreContract({
         name: 'sqlite in memory',
         runner: { describe, it, beforeAll: before, afterAll: after },
         create: async () => sqliteStore({ path: ':memory:' }),
       });`,
    );
    const done = spawnSync(process.execPath, ['--test', '--test-reporter=tap', 'contract.test.mjs'], {
      cwd: app,
      encoding: 'utf8',
    });
    expect(done.status, done.stdout + done.stderr).toBe(0);
    const passed = Number(/^# pass (\d+)$/m.exec(done.stdout)?.[1] ?? 0);
    expect(passed).toBeGreaterThan(25);
    expect(done.stdout).toMatch(/^# fail 0$/m);
  });

  it('installs the retrysafe command', () => {
    const done = spawnSync(join(app, 'node_modules', '.bin', 'retrysafe'), ['--help'], {
      cwd: app,
      encoding: 'utf8',
    });
    expect(done.status).toBe(0);
    expect(done.stdout).toContain('usage: retrysafe');
  });
});
