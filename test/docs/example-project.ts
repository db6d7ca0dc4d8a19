import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { codeBlocks, type CodeBlock } from './markdown-blocks.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');
/** The modules the examples import as a user's own (`./payments.js`): small real clients of the fake. */
const MODULES = join(import.meta.dirname, 'modules');

/** README.md, docs/*.md and examples/*.md: every page a user reads code from. */
export function documentedPages(): string[] {
  const pages = ['README.md'];
  for (const folder of ['docs', 'examples']) {
    for (const name of readdirSync(join(ROOT, folder)).sort()) {
      if (name.endsWith('.md')) pages.push(`${folder}/${name}`);
    }
  }
  return pages;
}

export function allBlocks(): CodeBlock[] {
  return documentedPages().flatMap((page) => codeBlocks(page, readFileSync(join(ROOT, page), 'utf8')));
}

/** A block's file name in a project: its page and line, and `.test` where a test runner runs it. */
export function fileNameOf(block: CodeBlock): string {
  const stem = `${block.file.replace(/\.md$/, '').replace(/[^\w]+/g, '-')}-L${block.line}`;
  const runner = runnerOf(block);
  const test = runner === 'node' ? '' : '.test';
  return `${stem}${test}.${block.language === 'ts' ? 'ts' : 'mjs'}`;
}

export type Runner = 'node' | 'vitest' | 'node:test';

/** How a runnable block runs: as a script, or by the test runner it imports. */
export function runnerOf(block: CodeBlock): Runner {
  if (/from ['"]vitest['"]/.test(block.code)) return 'vitest';
  if (/from ['"]node:test['"]/.test(block.code)) return 'node:test';
  return 'node';
}

/**
 * A folder inside this package (`.tmp/`, git-ignored), so that `retrysafe` resolves to the built
 * package through its own `exports` as it does for a user, with the user modules beside the blocks.
 */
export function exampleProject(name: string, blocks: readonly CodeBlock[]): string {
  if (!existsSync(join(ROOT, 'dist', 'index.d.ts'))) {
    throw new Error('the docs examples need the built package: run `npm run build` first (npm test does)');
  }
  const dir = join(ROOT, '.tmp', `${name}-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  cpSync(MODULES, dir, { recursive: true });
  for (const block of blocks) {
    // `export {}` makes every block a module, so top-level names of two blocks never collide.
    writeFileSync(join(dir, fileNameOf(block)), `${block.code}\nexport {};\n`);
  }
  return dir;
}

/**
 * The compiler options the examples must pass: this repository's strict settings (a user with looser
 * ones is covered), except `noPropertyAccessFromIndexSignature`, a style rule that would make the docs
 * write `process.env['X']`. JavaScript blocks are checked too (`checkJs`).
 */
const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2023,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2024.d.ts'],
  types: ['node'],
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  verbatimModuleSyntax: true,
  noImplicitOverride: true,
  noImplicitReturns: true,
  isolatedModules: true,
  skipLibCheck: true,
  allowJs: true,
  checkJs: true,
  noEmit: true,
};

export interface Finding {
  /** `page.md:line`, the line in the markdown. */
  readonly where: string;
  readonly message: string;
}

/** Type-checks every block of a project in one program; diagnostics point at the markdown lines. */
export function typeCheck(dir: string, blocks: readonly CodeBlock[]): Finding[] {
  const byFile = new Map(blocks.map((block) => [join(dir, fileNameOf(block)), block]));
  const program = ts.createProgram({ rootNames: [...byFile.keys()], options: OPTIONS });
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const file = diagnostic.file;
    if (file === undefined) return { where: 'program', message };
    const { line } = file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    const block = byFile.get(resolve(file.fileName));
    const where =
      block === undefined ? relative(dir, file.fileName) : `${block.file}:${block.line + 1 + line}`;
    return { where, message: `TS${diagnostic.code}: ${message}` };
  });
}

export interface RunOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

/** The command that runs a block's file: TypeScript through tsx, the way a user's dev setup would. */
export function commandOf(block: CodeBlock, file: string): string[] {
  const runner = runnerOf(block);
  if (runner === 'vitest') {
    // Its own config, or vitest would take this repository's (and its include patterns) from above.
    const config = join(dirname(file), 'vitest.config.mjs');
    writeFileSync(config, `export default { test: { include: ['${basename(file)}'] } };\n`);
    return [
      join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'),
      'run',
      '--config',
      config,
      '--root',
      dirname(file),
    ];
  }
  const tsx = block.language === 'ts' ? ['--import', 'tsx'] : [];
  return runner === 'node:test' ? [...tsx, '--test', file] : [...tsx, file];
}

/** The environment of a run: this process's, without vitest's own variables (a nested vitest reads them). */
function childEnv(env: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST'));
  return { ...Object.fromEntries(inherited), ...env, NO_COLOR: '1' };
}

/**
 * Runs a block of project `dir` (made by `exampleProject`) there, with `env` added: run twice in one
 * folder, the block sees its own `retrysafe.db` again. `onSpawn` is told the pid (to kill it).
 */
export function runBlock(
  block: CodeBlock,
  dir: string,
  env: Readonly<Record<string, string>>,
  onSpawn?: (pid: number) => void,
): Promise<RunOutcome> {
  const file = join(dir, fileNameOf(block));
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, commandOf(block, file), {
      cwd: dir,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('spawn', () => {
      if (child.pid !== undefined) onSpawn?.(child.pid);
    });
    child.once('close', (code, signal) => {
      resolveRun({ code, signal, output });
    });
  });
}
