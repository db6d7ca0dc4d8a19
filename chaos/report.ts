import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { format } from 'prettier';
import type { Figures } from './check.ts';
import { REPO_ROOT } from './child.ts';
import { combinations } from './combinations.ts';
import { reliabilitySection } from '../model/report.ts';

export interface ReportInput {
  readonly rows: readonly Figures[];
  readonly mix: Record<string, number>;
  readonly command: string;
  readonly seed: number;
  readonly ops: number;
  readonly workers: number;
  /** Where the long runs' files are. @default LONG_RUNS_DIR */
  readonly longRunsDir?: string;
}

/** One long run of one combination, as `--save-long-run` writes it to `chaos/long-runs/<impl>-<store>.json`. */
export type LongRun = Partial<Figures> & {
  readonly impl: string;
  readonly store: string;
  /** The command line the run was started with. */
  readonly command: string;
};

export const LONG_RUNS_DIR = join(REPO_ROOT, 'chaos', 'long-runs');

/** The file a combination's long run is saved in. */
export function longRunFile(impl: string, store: string, dir: string = LONG_RUNS_DIR): string {
  return join(dir, `${impl}-${store}.json`);
}

/** Every `*.json` file in `dir` (none when the directory does not exist). */
export async function readLongRuns(dir: string = LONG_RUNS_DIR): Promise<LongRun[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return Promise.all(
    names.map(async (name) => {
      const run = JSON.parse(await readFile(join(dir, name), 'utf8')) as Partial<LongRun>;
      if (typeof run.impl !== 'string' || typeof run.store !== 'string' || typeof run.command !== 'string') {
        throw new Error(`${join(dir, name)}: a long run needs impl, store and command`);
      }
      return run as LongRun;
    }),
  );
}

const COLUMNS = [
  'logical',
  'effects',
  'duplicates',
  'ops_with_duplicates',
  'lost',
  'unknown_after_run',
  'unknown_unresolved',
  'stale_holders',
  'late_writes_refused',
  'kills',
  'stops',
  'store_restarts',
  'redeliveries',
  'duration_s',
] as const;

/**
 * The long-run section: one row per file, in the order of the combinations (files of other
 * combinations after them), a line for each combination with no file, and each file's note.
 */
function renderLongRuns(runs: readonly LongRun[]): string {
  const order = combinations('all', 'all').map(({ impl, store }) => `${impl}/${store}`);
  const rank = (run: LongRun): number => {
    const at = order.indexOf(`${run.impl}/${run.store}`);
    return at < 0 ? order.length : at;
  };
  const sorted = [...runs].sort((a, b) => rank(a) - rank(b));
  const table = [
    `| impl | store | ${COLUMNS.join(' | ')} | command |`,
    `|---|---|${COLUMNS.map(() => '---:').join('|')}|---|`,
    ...sorted.map(
      (run) =>
        `| ${run.impl} | ${run.store} | ${COLUMNS.map((c) => String(run[c] ?? 'n/a')).join(' | ')} | ` +
        `\`${run.command}\` |`,
    ),
  ].join('\n');
  const name = (run: { impl: string; store: string }): string => `${run.impl} on ${run.store}`;
  const missing = order.filter((key) => !sorted.some((run) => `${run.impl}/${run.store}` === key));
  const notes = sorted
    .filter((run) => run.note !== undefined && run.note !== '')
    .map((run) => `- **${name(run)}**: ${run.note ?? ''}`);
  return [
    `Each row is one run of one combination with \`--save-long-run\`, which writes the run's \`--json\`
output and the command line it ran with to \`chaos/long-runs/<impl>-<store>.json\`; \`--report\` renders
this table from those files and does not run them (\`--report --render-only\` renders this page again from
\`chaos/report-run.json\`, what the last \`--report\` ran, and the long-run files, without running anything).
The command column has each run's flags (concurrency 4
per worker unless it says otherwise). \`duration_s\` depends on the machine and what else it was running.
\`late_writes_refused\` is n/a where the implementation keeps no audit of refused writes.`,
    sorted.length === 0 ? 'No long run has been saved yet.' : table,
    notes.length === 0 ? '' : `Notes on single runs:\n\n${notes.join('\n')}`,
    missing.length === 0
      ? ''
      : `Not run yet at 10,000 operations: ${missing.map((key) => key.replace('/', ' on ')).join(', ')}.`,
  ]
    .filter((part) => part !== '')
    .join('\n\n');
}

/**
 * docs/reliability.md: the scenario mix, the command and seed, one row per implementation and store,
 * and the long runs saved in `chaos/long-runs/`.
 */
export async function renderReport(input: ReportInput): Promise<string> {
  const table = [
    `| impl | store | ${COLUMNS.join(' | ')} |`,
    `|---|---|${COLUMNS.map(() => '---:').join('|')}|`,
    ...input.rows.map(
      (row) => `| ${row.impl} | ${row.store} | ${COLUMNS.map((c) => String(row[c] ?? 'n/a')).join(' | ')} |`,
    ),
  ].join('\n');
  const mix = Object.entries(input.mix)
    .map(([name, count]) => `| ${name} | ${count} |`)
    .join('\n');
  const violations = input.rows
    .filter((row) => row.violations.length > 0)
    .map(
      (row) =>
        `- **${row.impl} on ${row.store}**: ${row.violations
          .slice(0, 3)
          .map((v) => `\`${v.slice(0, 300)}\``)
          .join('; ')}`,
    )
    .join('\n');
  const longRuns = renderLongRuns(await readLongRuns(input.longRunsDir));
  const text = `# Reliability: the chaos run

Generated by \`${input.command}\` (seed ${input.seed}: the same seed gives the same fault schedule; process
interleavings still vary from run to run). ${input.ops} logical operations per implementation and store,
${input.workers} worker processes, each running up to 4 deliveries at once.

## What the harness does

- A downstream API in its own process (\`chaos/provider/server.ts\`) keeps a ledger of effects per logical
  operation, injects the scheduled fault on each request and offers a lookup. It ignores idempotency keys
  unless \`--native-keys\` is given, so the idempotency layer has to do the work.
- Worker processes (\`chaos/worker/main.ts\`) run the automation (one charge per delivered operation, up to
  8 tries with backoff on transient errors) through one implementation on one store. A delivery whose worker
  died is delivered again (an at-least-once trigger).
- Faults: \`kill -9\` of the worker (the worker sends itself SIGKILL) before the call, during it (the provider
  holds the request 400 ms), after the provider's effect and before the record, and while the record is on its
  way to the store; SIGSTOP of the holder while the provider holds its answer, a redelivery of the operation,
  SIGCONT once that redelivery has answered (the zombie holder); connection reset after the effect; timeout
  after the effect; 500 before and after the effect; 503 and 409 "in progress" answers that guarantee no
  effect; slow calls; concurrent duplicate triggers (2-3 workers at once); late replays after every first
  delivery finished; worker clock skew of +/- 2 leases (one worker slot in three runs ahead, one behind:
  \`CHAOS_CLOCK_SKEW_MS\` shifts that process's \`Date.now\`, see \`chaos/worker/skew.ts\`); a crash-restart of
  the store server halfway (PostgreSQL: a private cluster stopped with \`pg_ctl -m immediate\`; Redis: a
  private \`redis-server\` with \`appendonly yes\`, \`appendfsync always\`, shut down and started again).
- Peers, each on the private Redis and used the way its documentation shows (\`chaos/impls/\`):
  \`@aws-lambda-powertools/idempotency\` (\`makeIdempotent\` with its cache persistence layer; \`powertools\`
  registers a context whose remaining time, the lease, bounds the in-progress record, \`powertools-no-context\`
  does not); \`@node-idempotency/core\` with its Redis adapter (\`onRequest\` before the call, \`onResponse\`
  after it with the body or the error; a recorded error is replayed to later requests with that key);
  \`express-idempotency\` with \`express-idempotency-redis-adapter\` (each worker serves an Express app with
  the middleware before \`POST /charges\` and calls it over HTTP). The middleware GETs the key and, when it is
  absent, SETs an in-progress record: two commands, not one atomic step, so concurrent requests with one key
  can both run the call. It deletes the key when the handler reports an error or answers other than 2xx, so a
  retry after an ambiguous failure runs the call again, and it writes the response after sending it,
  fire-and-forget. An in-progress record whose process died stays until its TTL (86,400 s by default), and
  every request with that key is answered 409 meanwhile. The adapter gets a client with an \`error\`
  listener, like every peer here: the client it creates itself from \`connectionConfig\` (as its README
  shows) has none, and a store restart then ends the application's process with an unhandled error.
- After the run, operations with no successful delivery are run again in up to 5 rounds, 1 s apart:
  retrysafe with a provider lookup (reconciliation), the peers as a plain re-run. Plain retries keep no
  state and are not re-run.
- The checker counts effects per operation on the provider's ledger: \`duplicates\` (effects beyond the
  first), \`lost\` (intended operations with no effect), \`unknown_unresolved\` (operations still not known
  done), and for retrysafe the \`late_write\` audit entries against the deliveries told their claim was lost.

## Long run: 10,000 logical operations per implementation and store

${longRuns}

## Scenario mix (per combination)

| fault | count |
|---|---:|
${mix}

## Results

${table}

Peers run on the private Redis only; plain retries keep no store. \`late_writes_refused\` is n/a where the
implementation keeps no audit of refused writes.

## Violations

${violations === '' ? 'None.' : violations}

${await reliabilitySection(join(REPO_ROOT, 'docs'))}
`;
  return format(text, { parser: 'markdown', singleQuote: true, printWidth: 110 });
}
