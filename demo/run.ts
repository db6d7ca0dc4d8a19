/**
 * `npm run demo`: runs one automation over the same orders with the same injected faults twice, once with
 * plain retries and once through retrysafe, each against a fresh payments server, and prints what the
 * server's ledger says happened. `npm run demo -- --json` prints the figures as one JSON object.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { retrysafe } from '../src/index.ts';
import { sqliteStore } from '../src/stores/sqlite/index.ts';
import { BACKOFF_MS, LEASE_MS, REQUEST_TIMEOUT_MS, TRIES } from './automation.ts';
import { openPaidOrders } from './orders-db.ts';
import { startChild, type Child } from './processes.ts';
import type { FaultRule, Ledger, ServerEvent, Variant, WorkerConfig, WorkerEvent } from './protocol.ts';
import { countFigures, perOrderTable, summaryTable, type Figures, type StoreFacts } from './report.ts';
import { faultLabels, ORDERS, PHASES, STORED_ERROR_ORDER, type Phase } from './scenario.ts';

const STARTUP_MS = 30_000;
const PHASE_MS = 20_000;

const json = process.argv.includes('--json');
/** Set on SIGINT/SIGTERM: the failures that stopping the children causes are expected then. */
let interrupted = false;
const say = (line = ''): void => {
  if (!json && !process.stdout.destroyed) process.stdout.write(`${line}\n`);
};
// A reader that goes away (`npm run demo | head`) must not stop the demo before it cleans up.
process.stdout.on('error', () => {
  process.stdout.destroy();
});

const VARIANTS: readonly { readonly variant: Variant; readonly explain: string }[] = [
  {
    variant: 'naive',
    explain:
      `plain retries (${TRIES} tries, ${BACKOFF_MS.join('/')} ms apart, ` +
      `${REQUEST_TIMEOUT_MS} ms timeout per request)`,
  },
  {
    variant: 'retrysafe',
    explain:
      'the same calls and retries, each charge wrapped in rs.operation() on a SQLite file;\n' +
      `  unknown outcomes reconciled with GET /charges?orderId (lease ${LEASE_MS} ms)`,
  },
];

type Listening = Extract<ServerEvent, { event: 'listening' }>;
type Held = Extract<ServerEvent, { event: 'held' }>;
type OrderEvent = Extract<WorkerEvent, { event: 'order' }>;

/** Every child still running, stopped on the way out whatever happens. */
const running = new Set<Pick<Child<unknown>, 'stop'>>();

function track<E>(child: Child<E>): Child<E> {
  running.add(child);
  void child.exited.then(() => running.delete(child));
  return child;
}

async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => child.stop()));
}

async function setFaults(baseUrl: string, rules: readonly FaultRule[]): Promise<void> {
  const res = await fetch(`${baseUrl}/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ rules }),
  });
  if (res.status !== 204) throw new Error(`POST /faults answered ${res.status}`);
}

async function getLedger(baseUrl: string): Promise<Ledger> {
  const res = await fetch(`${baseUrl}/ledger`);
  if (res.status !== 200) throw new Error(`GET /ledger answered ${res.status}`);
  return (await res.json()) as Ledger;
}

async function readStore(path: string): Promise<StoreFacts> {
  const store = sqliteStore({ path });
  try {
    const rs = retrysafe({ store, namespace: 'demo-shop' });
    const records = await rs.list({ limit: 10_000 });
    const audit = (await Promise.all(records.map((record) => rs.audit(record.key)))).flat();
    return { records, audit };
  } finally {
    await store.close();
  }
}

/** What one worker's run of the automation saw, a line per fact. */
function describeRun(events: readonly OrderEvent[]): string[] {
  const outcomes = events.map((e) => e.outcome);
  const charged = outcomes.filter((outcome) => outcome.kind === 'charged');
  const retried = charged.filter((outcome) => outcome.tries > 1).length;
  const reconciled = charged.filter((outcome) => outcome.reconciled).length;
  const replayed = charged.filter((outcome) => outcome.replayed && !outcome.reconciled).length;
  const details = [
    retried > 0 ? `${retried} after a retry` : '',
    reconciled > 0 ? `${reconciled} reconciled by lookup` : '',
    replayed > 0 ? `${replayed} replayed from the store: the other run's charge` : '',
  ].filter((text) => text !== '');
  const lines = [`${charged.length} orders paid` + (details.length > 0 ? ` (${details.join(', ')})` : '')];
  const skipped = outcomes.filter((outcome) => outcome.kind === 'skipped').length;
  if (skipped > 0) lines.push(`skipped ${skipped} already marked paid`);
  const gaveUp = events.filter((e) => e.outcome.kind === 'gave-up').map((e) => e.orderId);
  if (gaveUp.length > 0) lines.push(`gave up on ${gaveUp.join(', ')}, not knowing whether it was charged`);
  return lines;
}

async function runPhase(
  phase: Phase,
  names: readonly string[],
  server: Child<ServerEvent>,
  base: Omit<WorkerConfig, 'name' | 'orders' | 'waitForGo' | 'idempotencyKeys'>,
): Promise<number> {
  await setFaults(
    base.baseUrl,
    phase.faults.map((fault) => fault.rule),
  );
  const workers = names.map((name) => ({
    name,
    child: track(
      startChild<WorkerEvent>(
        'worker.ts',
        [
          JSON.stringify({
            ...base,
            name,
            orders: phase.orders,
            waitForGo: true,
            idempotencyKeys: phase.idempotencyKeys ?? false,
          } satisfies WorkerConfig),
        ],
        `${base.variant} ${name}`,
      ),
    ),
  }));
  // Start the runs together once they are all loaded, so concurrent runs really overlap.
  await Promise.all(workers.map(({ child }) => child.waitFor((e) => e.event === 'ready', STARTUP_MS)));
  for (const { child } of workers) child.send('go');

  let killedAt: string | undefined;
  const victim = workers[0];
  if (phase.killWhenHeld !== undefined && victim !== undefined) {
    const orderId = phase.killWhenHeld;
    let killing = false;
    const endedEarly = victim.child.exited.then(() => {
      if (!killing) throw new Error(`${victim.child.label} ended before its charge of ${orderId} was held`);
    });
    endedEarly.catch(() => undefined); // reported through the race below; never unhandled
    await Promise.race([
      server.waitFor((e): e is Held => e.event === 'held' && e.orderId === orderId, PHASE_MS),
      endedEarly,
    ]);
    killing = true;
    victim.child.kill('SIGKILL');
    await victim.child.exited;
    killedAt = orderId;
  } else {
    await Promise.all(workers.map(({ child }) => child.finished(PHASE_MS)));
  }

  let gaveUp = 0;
  for (const { name, child } of workers) {
    const events = child.events.filter((e): e is OrderEvent => e.event === 'order');
    gaveUp += events.filter((e) => e.outcome.kind === 'gave-up').length;
    const lines = describeRun(events);
    if (killedAt !== undefined && child === victim?.child) {
      lines.push(`killed with SIGKILL while its charge of ${killedAt} was in flight`);
    }
    const prefix = workers.length > 1 ? `${name}: ` : '';
    lines.forEach((line, i) => {
      say(`      ${i === 0 ? prefix : ' '.repeat(prefix.length)}${line}`);
    });
  }
  return gaveUp;
}

async function runVariant(variant: Variant, dir: string): Promise<{ figures: Figures; ledger: Ledger }> {
  const server = track(startChild<ServerEvent>('payments-server.ts', [], `${variant} payments server`));
  try {
    const { port } = await server.waitFor((e): e is Listening => e.event === 'listening', STARTUP_MS);
    const base = {
      variant,
      baseUrl: `http://127.0.0.1:${port}`,
      ordersDbPath: join(dir, `${variant}-orders.db`),
      storePath: join(dir, `${variant}-retrysafe.db`),
    };
    // Create the bookkeeping table before runs race to do it.
    openPaidOrders(base.ordersDbPath).close();
    let gaveUp = 0;
    let runs = 0;
    for (const phase of PHASES) {
      say(`  ${phase.title}: ${phase.explain}`);
      const names = Array.from({ length: phase.workers }, () => `run ${++runs}`);
      gaveUp += await runPhase(phase, names, server, base);
    }
    const ledger = await getLedger(base.baseUrl);
    const paidOrders = openPaidOrders(base.ordersDbPath);
    const paid = paidOrders.paid();
    paidOrders.close();
    const store = variant === 'retrysafe' ? await readStore(base.storePath) : undefined;
    return {
      figures: countFigures({
        orders: ORDERS,
        ledger,
        paid,
        gaveUp,
        store,
        storedErrorOrder: STORED_ERROR_ORDER,
      }),
      ledger,
    };
  } finally {
    await server.stop();
  }
}

function printPlan(): void {
  say(
    `retrysafe demo: one automation charges ${ORDERS.length} orders through a payments API; runs 1-4 send no ` +
      'idempotency key, runs 5-6 send one, which the API honours the way Stripe does (it stores the answer, ' +
      'a 500 included, and replays it).',
  );
  say('It runs twice under the same faults: once with plain retries, once through retrysafe.');
  say();
  say('Faults injected (the same plan for both):');
  for (const phase of PHASES) {
    for (const fault of phase.faults) {
      const first = phase.orders[0]?.id ?? '';
      const last = phase.orders.at(-1)?.id.replace(/^\D+/, '') ?? '';
      const orders = fault.rule.orderId === '*' ? `${first}..${last}` : fault.rule.orderId;
      say(`  ${phase.title.padEnd(9)} ${orders.padEnd(14)} ${fault.explain}`);
    }
  }
  say();
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'retrysafe-demo-'));
  const onSignal = (): void => {
    interrupted = true;
    void stopAll()
      .then(() => rm(dir, { recursive: true, force: true }))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    printPlan();
    const figures = {} as Record<Variant, Figures>;
    const ledgers = {} as Record<Variant, Ledger>;
    for (const { variant, explain } of VARIANTS) {
      say(`${variant}: ${explain}`);
      const result = await runVariant(variant, dir);
      figures[variant] = result.figures;
      ledgers[variant] = result.ledger;
      say();
    }
    if (json) {
      process.stdout.write(`${JSON.stringify({ naive: figures.naive, retrysafe: figures.retrysafe })}\n`);
      return;
    }
    say("Orders with a fault, or not charged exactly once (charges counted in each server's ledger):");
    say(perOrderTable(ORDERS, faultLabels(), ledgers));
    say();
    say("Totals, counted from the servers' ledgers, the automation's bookkeeping and the retrysafe store:");
    say(summaryTable(figures));
    say();
    say(conclusion(figures));
    say(`(${((Date.now() - startedAt) / 1000).toFixed(1)} s)`);
  } finally {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

function conclusion(figures: Readonly<Record<Variant, Figures>>): string {
  const { naive, retrysafe: safe } = figures;
  const verdict = (f: Figures): string =>
    f.duplicates === 0 && f.missing === 0 && f.unknown === 0
      ? `every one of the ${f.logical} orders charged exactly once`
      : `${count(f.duplicates, 'duplicate charge')}, ${count(f.missing, 'order')} never charged, ` +
        `${count(f.unknown, 'outcome')} unknown`;
  return `naive: ${verdict(naive)}.\nretrysafe: ${verdict(safe)}.`;
}

main().catch(async (error: unknown) => {
  if (interrupted) return;
  process.stderr.write(
    `demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  await stopAll();
  process.exitCode = 1;
});
