import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * The published artifact: every subpath export resolves from `dist/` through the package's own name, and the
 * root never loads a database driver. `npm test` builds before running the suite.
 */
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, unknown> };
const subpaths = Object.keys(pkg.exports).filter((name) => name !== './package.json');

function node(script: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
}

describe.runIf(existsSync('dist/index.js'))('package exports (built)', () => {
  it.each(subpaths)('%s resolves from dist', (subpath) => {
    const name = subpath === '.' ? 'retrysafe' : `retrysafe/${subpath.slice(2)}`;
    const exported = JSON.parse(
      node(`const m = await import('${name}'); console.log(JSON.stringify(Object.keys(m)));`),
    ) as string[];
    expect(exported.length).toBeGreaterThan(0);
  });

  it('loads a database driver only when its store is created', () => {
    const loaded = node(
      `import { createRequire } from 'node:module';
       import { tmpdir } from 'node:os';
       import { join } from 'node:path';
       const require = createRequire(import.meta.url);
       const drivers = () => ['better-sqlite3', 'pg', 'ioredis'].filter((d) => require.cache[require.resolve(d)] !== undefined);
       await import('retrysafe'); await import('retrysafe/sqlite'); await import('retrysafe/postgres'); await import('retrysafe/redis');
       const before = drivers();
       const { sqliteStore } = await import('retrysafe/sqlite');
       const file = join(tmpdir(), 'retrysafe-package-' + process.pid + '.db');
       const store = sqliteStore({ path: file });
       console.log(JSON.stringify({ before, after: drivers() }));
       await store.close();
       const { rmSync } = await import('node:fs');
       for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });`,
    );
    expect(JSON.parse(loaded)).toEqual({ before: [], after: ['better-sqlite3'] });
  });

  it('the store registry parses every address without a driver and loads only the one it opens', () => {
    const loaded = node(
      `import { createRequire } from 'node:module';
       import { mkdtempSync, rmSync } from 'node:fs';
       import { tmpdir } from 'node:os';
       import { join } from 'node:path';
       const require = createRequire(import.meta.url);
       const drivers = () => ['better-sqlite3', 'pg', 'ioredis'].filter((d) => require.cache[require.resolve(d)] !== undefined);
       const { storeRegistry } = await import('retrysafe');
       for (const a of ['sqlite:./x.db', 'postgres://u@h/db', 'redis://h']) storeRegistry.parse(a);
       const before = drivers();
       const dir = mkdtempSync(join(tmpdir(), 'retrysafe-registry-'));
       const store = await storeRegistry.open('sqlite:./x.db', { cwd: dir });
       await store.migrate();
       console.log(JSON.stringify({ before, after: drivers() }));
       await store.close();
       rmSync(dir, { recursive: true, force: true });`,
    );
    expect(JSON.parse(loaded)).toEqual({ before: [], after: ['better-sqlite3'] });
  });

  it('every error class of one installed copy recognises errors made by another', () => {
    // Two copies of the built package in separate folders, as two installs are.
    const answers = JSON.parse(
      node(
        `import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
         import { tmpdir } from 'node:os';
         import { join, resolve } from 'node:path';
         import { pathToFileURL } from 'node:url';
         const root = mkdtempSync(join(tmpdir(), 'retrysafe-copies-'));
         const install = (name) => {
           const dir = join(root, name);
           cpSync('dist', join(dir, 'dist'), { recursive: true });
           writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
           symlinkSync(resolve('node_modules'), join(dir, 'node_modules'));
           return import(pathToFileURL(join(dir, 'dist', 'index.js')).href);
         };
         const a = await install('a'); const b = await install('b');
         rmSync(root, { recursive: true, force: true });
         const record = { key: 'k', operation: 'op@1', fingerprint: 'f', state: 'unknown', attempt: 1,
           generation: 1, leaseOwner: null, leaseUntil: null, result: null, request: null, keyFields: null,
           providerRef: null, reason: null, overrideFingerprint: null, keyEvidence: null, overrideAttempt: null,
           createdAt: 1, updatedAt: 1, expiresAt: null, tombstoneUntil: null };
         const made = [new b.OutcomeUnknownError(record), new b.LeaseLostError('k', 1, record),
           new b.WaitTimeoutError(record, 1), new b.StoreUnavailableError('down', new Error('x'))];
         const names = ['RetrySafeError', 'OutcomeUnknownError', 'LeaseLostError', 'InFlightError',
           'WaitTimeoutError', 'StoreUnavailableError'];
         console.log(JSON.stringify({ distinct: a.OutcomeUnknownError !== b.OutcomeUnknownError,
           answers: made.map((e) => names.filter((n) => e instanceof a[n])) }));`,
      ),
    ) as unknown;
    expect(answers).toEqual({
      distinct: true,
      answers: [
        ['RetrySafeError', 'OutcomeUnknownError'],
        ['RetrySafeError', 'LeaseLostError'],
        ['RetrySafeError', 'InFlightError', 'WaitTimeoutError'],
        ['RetrySafeError', 'StoreUnavailableError'],
      ],
    });
  });
});

describe('package exports (source)', () => {
  it('has a dist build when run through npm test', () => {
    // `npm test` builds first; running vitest alone skips the built checks above instead of failing.
    expect(subpaths).toEqual(expect.arrayContaining(['.', './sqlite', './postgres', './redis']));
  });
});
