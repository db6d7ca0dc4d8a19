/**
 * `npm run bench`: every scenario of the benchmark issue, side by side in one run, written to
 * `RESULTS.md` and `results.json` (see `--help`).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, USAGE, type BenchArgs } from './lib/args.ts';
import { openEnv } from './lib/env.ts';
import { gatherFacts } from './lib/machine.ts';
import { writeReport, type Report } from './lib/report.ts';
import type { Scenario, ScenarioResult } from './lib/scenario.ts';
import { SCENARIOS } from './scenarios/index.ts';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));

function commandLine(argv: readonly string[]): string {
  return argv.length === 0 ? 'npm run bench' : `npm run bench -- ${argv.join(' ')}`;
}

async function outDir(args: BenchArgs): Promise<string> {
  if (args.out !== undefined) return args.out;
  if (!args.quick && args.only.length === 0) return BENCH_DIR;
  return mkdtemp(join(tmpdir(), 'retrysafe-bench-results-'));
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(
    argv,
    SCENARIOS.map((s) => s.name),
  );
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const chosen = SCENARIOS.filter((s) => args.only.length === 0 || args.only.includes(s.name));
  const needs = new Set(chosen.flatMap((s) => s.stores).filter((kind) => args.stores.includes(kind)));
  const startedAt = new Date();
  const t0 = performance.now();
  const log = (message: string): void => {
    console.error(`[bench ${((performance.now() - t0) / 1000).toFixed(1)}s] ${message}`);
  };
  const env = await openEnv({ postgres: needs.has('postgres'), redis: needs.has('redis') });
  try {
    const available = args.stores.filter(
      (kind) =>
        kind === 'sqlite' ||
        (kind === 'postgres' && env.pgUrl !== undefined) ||
        (kind === 'redis' && env.redisUrl !== undefined),
    );
    const facts = await gatherFacts(env);
    const results: { scenario: Scenario; result: ScenarioResult | Error }[] = [];
    for (const scenario of chosen) {
      const stores = available.filter((kind) => scenario.stores.includes(kind));
      if (stores.length === 0) {
        log(`${scenario.name}: no selected store is available, skipped`);
        continue;
      }
      log(`${scenario.name}: start (${stores.join(', ')})`);
      try {
        results.push({ scenario, result: await scenario.run({ env, quick: args.quick, stores, log }) });
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        log(`${scenario.name}: FAILED ${failure.stack ?? failure.message}`);
        results.push({ scenario, result: failure });
      }
    }
    const report: Report = {
      command: commandLine(argv),
      quick: args.quick,
      startedAt,
      durationS: (performance.now() - t0) / 1000,
      facts,
      skipped: env.skipped,
      results,
    };
    const dir = await outDir(args);
    const written = await writeReport(dir, report);
    for (const path of written) console.log(`wrote ${relative(process.cwd(), path) || path}`);
    return results.some(({ result }) => result instanceof Error) ? 1 : 0;
  } finally {
    await env.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 2;
  },
);
