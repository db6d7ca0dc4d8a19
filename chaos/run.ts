/**
 * `npm run chaos -- --impl NAME --store NAME --provider MODE --ops N --workers W --seed S [--json]
 * [--native-keys] [--print-schedule] [--report [--render-only]] [--save-long-run]`: runs the
 * fault-injection harness and prints what each implementation did. `--provider` is how the provider
 * treats idempotency keys: `lenient` (the default, the harness's original provider), `stripe`,
 * `checkout`, `ietf` or `no-native-key` (chaos/provider/modes.ts). `--impl all --store all` runs every combination; `--report` also
 * writes docs/reliability.md, with the long runs saved in chaos/long-runs/ (and keeps what it ran in
 * chaos/report-run.json, from which `--report --render-only` renders the page again without running);
 * `--save-long-run` (one combination) saves the run's `--json` object and this command line as
 * chaos/long-runs/<impl>-<store>-<mode>.json. `--store redis-replicated` or `postgres-replicated` fails
 * a primary over mid-run (chaos/store-servers.ts); `--unprotected` runs it without the protection
 * against lost writes, and `--save-failover-run` saves such a run in chaos/failover-runs/ for the
 * report's failover section.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { format } from 'prettier';
import { REPO_ROOT } from './child.ts';
import { combinations, type Combination } from './combinations.ts';
import { runCombination } from './combination.ts';
import type { Figures } from './check.ts';
import { PROVIDER_MODES, providerMode } from './provider/modes.ts';
import { FAILOVER_RUNS_DIR, LONG_RUNS_DIR, longRunFile, renderReport, type ReportInput } from './report.ts';
import { scenarioMix } from './scenario.ts';

const { values } = parseArgs({
  options: {
    impl: { type: 'string', default: 'retrysafe' },
    store: { type: 'string', default: 'sqlite' },
    provider: { type: 'string', default: 'lenient' },
    ops: { type: 'string', default: '300' },
    workers: { type: 'string', default: '3' },
    seed: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    json: { type: 'boolean', default: false },
    'native-keys': { type: 'boolean', default: false },
    'print-schedule': { type: 'boolean', default: false },
    report: { type: 'boolean', default: false },
    'save-long-run': { type: 'boolean', default: false },
    'render-only': { type: 'boolean', default: false },
    unprotected: { type: 'boolean', default: false },
    'save-failover-run': { type: 'boolean', default: false },
  },
});

/** The command line as typed, for the saved long run (arguments quoted where the shell needs it). */
function commandLine(): string {
  const quote = (arg: string): string =>
    /^[\w.,:=/@+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
  return ['npm run chaos --', ...process.argv.slice(2).map(quote)].join(' ');
}

function integer(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
}

/** What `--report` ran, kept so that `--report --render-only` can render the page again without running. */
const REPORT_RUN_FILE = join(REPO_ROOT, 'chaos', 'report-run.json');

async function writeReport(input: Omit<ReportInput, 'longRunsDir'>): Promise<void> {
  const path = join(REPO_ROOT, 'docs', 'reliability.md');
  await writeFile(path, await renderReport(input));
  process.stderr.write(`[chaos] wrote ${path}\n`);
}

async function main(): Promise<void> {
  // Read before the run: the code the workers load is the code of this moment.
  const commit = commitRunOn();
  const report = values.report;
  if (values['render-only']) {
    if (!report) throw new Error('--render-only goes with --report');
    // The short runs as the last --report saved them; the long runs as chaos/long-runs/ holds them now.
    await writeReport(
      JSON.parse(await readFile(REPORT_RUN_FILE, 'utf8')) as Omit<ReportInput, 'longRunsDir'>,
    );
    return;
  }
  const impl = report ? 'all' : values.impl;
  const store = report ? 'all' : values.store;
  const ops = integer('ops', values.ops);
  const workers = integer('workers', values.workers);
  const concurrency = integer('concurrency', values.concurrency);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : integer('seed', values.seed);
  const selected: Combination[] = combinations(impl, store);
  const mode = providerMode(values.provider);
  if (values['native-keys'] && mode !== 'lenient') {
    throw new Error(
      `--native-keys goes with --provider lenient; the other modes (${PROVIDER_MODES.join(', ')}) have their own keys`,
    );
  }
  if ((values['save-long-run'] || values['save-failover-run']) && (report || selected.length !== 1)) {
    throw new Error(
      '--save-long-run saves one combination: give one --impl and one --store, without --report',
    );
  }
  const log = (line: string): void => {
    process.stderr.write(`[chaos] ${line}\n`);
  };
  log(
    `seed ${seed}; provider ${mode}; ${selected.length} combination(s); ${ops} operations each; ${workers} workers`,
  );

  const rows: Figures[] = [];
  let mix: Record<string, number> = {};
  for (const combination of selected) {
    const { figures, scenario } = await runCombination({
      ...combination,
      ops,
      workers,
      seed,
      concurrency,
      nativeKeys: values['native-keys'],
      providerMode: mode,
      unprotected: values.unprotected,
      log,
    });
    mix = scenarioMix(scenario);
    if (values['print-schedule']) process.stderr.write(`${JSON.stringify(scenario)}\n`);
    log(`schedule ${figures.schedule_digest}: ${JSON.stringify(mix)}`);
    log(
      `${figures.impl}/${figures.store}: ${figures.effects} effects for ${figures.logical} operations, ` +
        `${figures.duplicates} duplicates, ${figures.lost} lost, ${figures.unknown_unresolved} unresolved, ` +
        `${figures.stuck ?? 0} stuck ` +
        `(${figures.duration_s} s)`,
    );
    for (const violation of figures.violations) log(`  ${violation}`);
    rows.push(figures);
  }

  const single = impl !== 'all' && store !== 'all';
  if (values.json || !report)
    process.stdout.write(`${JSON.stringify(single ? rows[0] : rows, null, values.json ? 0 : 2)}\n`);
  const saveIn = values['save-long-run']
    ? LONG_RUNS_DIR
    : values['save-failover-run']
      ? FAILOVER_RUNS_DIR
      : undefined;
  if (saveIn !== undefined && rows[0] !== undefined) {
    const path = longRunFile(rows[0].impl, rows[0].store, mode, saveIn);
    await mkdir(saveIn, { recursive: true });
    const text = JSON.stringify({ ...rows[0], command: commandLine(), commit }, null, 2);
    await writeFile(path, await format(text, { parser: 'json' }));
    log(`wrote ${path}`);
  }
  if (report) {
    const provider = mode === 'lenient' ? '' : ` --provider ${mode}`;
    const command = `npm run chaos -- --report${provider} --ops ${ops} --workers ${workers} --concurrency ${concurrency} --seed ${seed}`;
    const input = { rows, mix, command, seed, ops, workers, provider: mode };
    await writeFile(REPORT_RUN_FILE, await format(JSON.stringify(input), { parser: 'json' }));
    await writeReport(input);
  }
}

/** The commit the run's code came from (with `+changes` when the work tree differed), or null outside git. */
function commitRunOn(): string | null {
  try {
    const git = (...args: string[]): string =>
      execFileSync('git', args, {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    const head = git('rev-parse', '--short=12', 'HEAD');
    // The runs' own output files do not count as changes to the code that ran.
    const changed = git(
      'status',
      '--porcelain',
      '--',
      'src',
      'chaos',
      ':!chaos/long-runs',
      ':!chaos/failover-runs',
    );
    return changed === '' ? head : `${head}+changes`;
  } catch {
    return null;
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `chaos failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(2);
  },
);
