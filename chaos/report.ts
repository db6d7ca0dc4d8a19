import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { format } from 'prettier';
import type { Figures } from './check.ts';
import { REPO_ROOT } from './child.ts';
import { combinations } from './combinations.ts';
import { PROVIDER_MODES, STRICT_MODES, TIME_SCALE } from './provider/modes.ts';
import { STORES } from './impls/types.ts';
import { reliabilitySection } from '../model/report.ts';

export interface ReportInput {
  readonly rows: readonly Figures[];
  readonly mix: Record<string, number>;
  readonly command: string;
  readonly seed: number;
  readonly ops: number;
  readonly workers: number;
  /** The provider mode the short runs used. @default 'lenient' */
  readonly provider?: string;
  /** Where the long runs' files are. @default LONG_RUNS_DIR */
  readonly longRunsDir?: string;
  /** Where the failover runs' files are. @default FAILOVER_RUNS_DIR */
  readonly failoverRunsDir?: string;
}

/**
 * One long run of one combination in one provider mode, as `--save-long-run` writes it to
 * `chaos/long-runs/<impl>-<store>-<mode>.json`.
 */
export type LongRun = Partial<Figures> & {
  readonly impl: string;
  readonly store: string;
  /** Absent in runs saved before the modes existed: `lenient`. */
  readonly provider?: string;
  /** The command line the run was started with. */
  readonly command: string;
  /** The commit its code came from (absent in runs saved before it was recorded). */
  readonly commit?: string | null;
};

export const LONG_RUNS_DIR = join(REPO_ROOT, 'chaos', 'long-runs');
/** Runs on the replicated stores, protected and not (`--save-failover-run`). */
export const FAILOVER_RUNS_DIR = join(REPO_ROOT, 'chaos', 'failover-runs');

/** The file a combination's long run in a provider mode is saved in. */
export function longRunFile(impl: string, store: string, mode: string, dir: string = LONG_RUNS_DIR): string {
  return join(dir, `${impl}-${store}-${mode}.json`);
}

const modeOf = (run: { provider?: string | undefined }): string => run.provider ?? 'lenient';

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
  'stuck',
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
  // Every combination with the lenient provider (the original long runs), and retrysafe on every store
  // in every strict mode (the bar for those modes).
  const order = [
    ...combinations('all', 'all').map(({ impl, store }) => `${impl}/${store}/lenient`),
    ...PROVIDER_MODES.filter((mode) => mode !== 'lenient').flatMap((mode) =>
      STORES.map((store) => `retrysafe/${store}/${mode}`),
    ),
  ];
  const id = (run: LongRun): string => `${run.impl}/${run.store}/${modeOf(run)}`;
  const rank = (run: LongRun): number => {
    const at = order.indexOf(id(run));
    return at < 0 ? order.length : at;
  };
  const sorted = [...runs].sort((a, b) => rank(a) - rank(b));
  const table = [
    `| impl | store | provider | ${COLUMNS.join(' | ')} | command |`,
    `|---|---|---|${COLUMNS.map(() => '---:').join('|')}|---|`,
    ...sorted.map(
      (run) =>
        `| ${run.impl} | ${run.store} | ${modeOf(run)} | ${COLUMNS.map((c) => String(run[c] ?? 'n/a')).join(' | ')} | ` +
        `\`${run.command}\`${typeof run.commit === 'string' ? ` (at ${run.commit})` : ''} |`,
    ),
  ].join('\n');
  const name = (run: LongRun): string => `${run.impl} on ${run.store} (${modeOf(run)})`;
  const missing = order.filter((key) => !sorted.some((run) => id(run) === key));
  const notes = sorted
    .filter((run) => run.note !== undefined && run.note !== '')
    .map((run) => `- **${name(run)}**: ${run.note ?? ''}`);
  return [
    `Each row is one run of one combination with \`--save-long-run\`, which writes the run's \`--json\`
output and the command line it ran with to \`chaos/long-runs/<impl>-<store>-<mode>.json\`; \`--report\` renders
this table from those files and does not run them (\`--report --render-only\` renders this page again from
\`chaos/report-run.json\`, what the last \`--report\` ran, and the long-run files, without running anything).
The command column has each run's flags (concurrency 4
per worker unless it says otherwise). \`duration_s\` depends on the machine and what else it was running.
\`late_writes_refused\` is n/a where the implementation keeps no audit of refused writes, \`stuck\` where the run was
saved before it was counted.`,
    sorted.length === 0 ? 'No long run has been saved yet.' : table,
    notes.length === 0 ? '' : `Notes on single runs:\n\n${notes.join('\n')}`,
    missing.length === 0
      ? ''
      : `Not run yet at 10,000 operations: ${missing
          .map((key) => {
            const [impl, store, mode] = key.split('/');
            return `${impl ?? ''} on ${store ?? ''} (${mode ?? ''})`;
          })
          .join(', ')}.`,
  ]
    .filter((part) => part !== '')
    .join('\n\n');
}

/**
 * The failover section: each replicated store's run with the protection and without it, side by side
 * (the store is `<store>-unprotected` for the latter), from `chaos/failover-runs/`.
 */
function renderFailoverRuns(runs: readonly LongRun[]): string {
  const sorted = [...runs].sort((a, b) => `${a.store}/${modeOf(a)}`.localeCompare(`${b.store}/${modeOf(b)}`));
  const columns = [
    'logical',
    'effects',
    'duplicates',
    'lost',
    'unknown_unresolved',
    'stuck',
    'duration_s',
  ] as const;
  const intro = `A primary and a replica started by the harness (\`chaos/store-servers.ts\`): Redis with a replica
(AOF \`everysec\`), PostgreSQL with a streaming standby made by \`pg_basebackup\`; clients connect to an
address that moves (a TCP proxy, as a managed endpoint). Halfway through the run, instead of the restart: the
replication link is cut for 1.5 s, the primary is killed (Redis SIGKILL, PostgreSQL \`pg_ctl -m immediate\`),
the replica promoted, the address moved to it, and a new replica joins. Protected: \`replicaAcks: 1\` (Redis,
\`WAIT\` after each transition) or \`synchronous_standby_names = '*'\` (PostgreSQL). \`-unprotected\`: the same
run with \`allowUnacknowledgedReplicas\` or an asynchronous standby with \`allowAsynchronousStandbys\`. Each
row is one \`--save-failover-run\` file in \`chaos/failover-runs/\`.`;
  if (sorted.length === 0) return `${intro}\n\nNo failover run has been saved yet.`;
  const table = [
    `| store | provider | ${columns.join(' | ')} | command |`,
    `|---|---|${columns.map(() => '---:').join('|')}|---|`,
    ...sorted.map(
      (run) =>
        `| ${run.store} | ${modeOf(run)} | ${columns.map((c) => String(run[c] ?? 'n/a')).join(' | ')} | \`${run.command}\` |`,
    ),
  ].join('\n');
  const notes = sorted
    .filter((run) => run.note !== undefined && run.note !== '')
    .map((run) => `- **${run.store} (${modeOf(run)})**: ${run.note ?? ''}`);
  return [intro, table, notes.length === 0 ? '' : `Notes:\n\n${notes.join('\n')}`]
    .filter((part) => part !== '')
    .join('\n\n');
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

/** What each provider mode does, from the modes' own numbers. */
const PROVIDER_SECTION = `  - \`lenient\` (the default, the harness's original provider, kept so long runs stay comparable): it
    ignores idempotency keys (with \`--native-keys\` it caches successes under \`Idempotency-Key\` and answers
    409 while the first request runs), never stores a failed answer, never forgets a key, has a lookup that
    is consistent at once, marks its no-effect answers (\`x-no-effect\`), and answers every request (a
    "timeout after the effect" is an answer later than every implementation's own 800 ms client timeout).
  - The strict modes play shared/reference/provider-idempotency-semantics.md in compressed time (one real
    hour is ${seconds(3_600_000 / TIME_SCALE)}), never kinder. Every implementation's \`call\` has **no client timeout**: some requests are
    never answered (before or after the effect; 3% of the otherwise unfaulted operations), so only a
    library's own attempt deadline can end them. The lookup is a list or search by a marker in the body
    (the operation's id) that lags behind writes by up to the settle delay. No answer carries a no-effect
    marker: a 503 or 409 is whatever the mode says it is.
  - \`stripe\`: every answer once execution began, 5xx before or after the effect included, is stored under
    \`Idempotency-Key\` and replayed with \`Idempotent-Replayed: true\`; 409 \`idempotency_key_in_use\` while the
    first request runs; another body under a used key is refused with 400 \`idempotency_error\`; keys are
    forgotten ${seconds(STRICT_MODES.stripe.retentionMs)} (24 h) after their first request; the search lags up to ${seconds(STRICT_MODES.stripe.lookupLagMaxMs)} (the profile's 1 h).
  - \`checkout\`: only 2xx answers are kept under \`Cko-Idempotency-Key\`; a 4xx/5xx leaves the key free and
    the next request with it is attempted again (a 500 after the effect, then a retry, is a second charge);
    409 while in progress; mismatch not checked (not documented); ${seconds(STRICT_MODES.checkout.retentionMs)} retention; the list lags up to
    ${seconds(STRICT_MODES.checkout.lookupLagMaxMs)} (the profile's 1 min).
  - \`ietf\`: the draft's 400 without a key, 409 while the original runs, 422 for another payload; every
    answer is stored and replayed without a replay marker (the draft names none), so a stored 5xx burns the
    key silently; ${seconds(STRICT_MODES.ietf.retentionMs)} retention; the list lags up to ${seconds(STRICT_MODES.ietf.lookupLagMaxMs)}.
  - \`no-native-key\`: no key honoured at all: every request that arrives writes; a marker and a list that
    lags up to ${seconds(STRICT_MODES['no-native-key'].lookupLagMaxMs)} are all there is.
  - With a native key, the implementations other than retrysafe send the operation's id in the mode's key
    header (a stable key, what a careful user of that API sends); retrysafe sends its provider key (UUIDv5
    of key and generation), declares the re-send window the profile gives (\`resendWithinMs(profile)\`: the key's retention, 0 for
    \`checkout\`, which caches only successes) and settle delay
    (\`lookupSettleMs\`), reads answers with the mode's profile from \`src/providers/\` (\`classify(stripe)\`,
    \`classify(checkout)\`, \`classify(idempotencyKeyHeader(...))\`; no-native-key: 4xx other than
    408/409/425/429 refused, the rest unknown) and looks the write up by marker in every process.`;

/**
 * docs/reliability.md: the scenario mix, the command and seed, one row per implementation and store,
 * and the long runs saved in `chaos/long-runs/`.
 */
export async function renderReport(input: ReportInput): Promise<string> {
  const table = [
    `| impl | store | provider | ${COLUMNS.join(' | ')} |`,
    `|---|---|---|${COLUMNS.map(() => '---:').join('|')}|`,
    ...input.rows.map(
      (row) =>
        `| ${row.impl} | ${row.store} | ${modeOf(row)} | ${COLUMNS.map((c) => String(row[c] ?? 'n/a')).join(' | ')} |`,
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
  const failoverRuns = renderFailoverRuns(await readLongRuns(input.failoverRunsDir ?? FAILOVER_RUNS_DIR));
  const text = `# Reliability: the chaos run

Generated by \`${input.command}\` (seed ${input.seed}: the same seed gives the same fault schedule; process
interleavings still vary from run to run). ${input.ops} logical operations per implementation and store,
${input.workers} worker processes, each running up to 4 deliveries at once.

## What the harness does

- A downstream API in its own process (\`chaos/provider/server.ts\`) keeps a ledger of effects per logical
  operation, injects the scheduled fault on each request and offers a lookup. How it treats idempotency
  keys is its mode, \`--provider MODE\` (\`chaos/provider/modes.ts\`); this page's short runs used \`${input.provider ?? 'lenient'}\`.
${PROVIDER_SECTION}
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
  \`CHAOS_CLOCK_SKEW_MS\` shifts that process's \`Date.now\`, see \`chaos/worker/skew.ts\`; not on SQLite, whose
  processes share one host's clock: docs/stores.md says what a step of that clock does); a crash-restart of
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
  done after the final replay and reconciliation), \`stuck\` (a delivery that never ended: still running
  when nothing else had finished for 20 s; or, for retrysafe, a record still \`in_flight\` at the end), and
  for retrysafe the \`late_write\` audit entries against the deliveries told their claim was lost.

## Long run: 10,000 logical operations per implementation, store and provider mode

${longRuns}

## Failover: replicated stores

${failoverRuns}

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
