import pg from 'pg';
import { retrysafe, type Store } from '../../src/index.ts';
import { describeScriptTimes, withScriptTimes, type ScriptTimes } from './script-times.ts';
import { newCounters, openStore, resetCounters, type Location } from './stores.ts';
import { chargeOperation, keyOf, type Charge } from './workload.ts';

/** Where the time of one wrapped call goes, and how many round trips it makes. */
export interface Profile {
  readonly calls: number;
  readonly msPerCall: number;
  /** Per store method: calls and ms per wrapped call. */
  readonly storeMethods: Readonly<Record<string, { perCall: number; msPerCall: number }>>;
  /** Time per call outside the store methods (key derivation, fingerprint, decide, promises). */
  readonly executorMsPerCall: number;
  /** Time per call inside the driver (queries, commands or SQLite transactions). */
  readonly driverMsPerCall: number;
  /** PostgreSQL queries or Redis commands per call. */
  readonly roundTripsPerCall: number;
  /** SQLite write transactions and statements per call. */
  readonly transactionsPerCall: number;
  readonly statementsPerCall: number;
  readonly commandsPerCall: Readonly<Record<string, number>>;
  /** Redis only, on a server the benchmark owns: server-side time of each script. */
  readonly serverScripts: ScriptTimes | undefined;
  /** PostgreSQL only: WAL bytes written per call (server-wide LSN advance, so other load adds to it). */
  readonly walBytesPerCall: number | undefined;
}

type Timings = Map<string, { count: number; ms: number }>;

/** Wraps a store so that every method call is counted and timed. */
function timedStore(store: Store, timings: Timings): Store {
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const name = String(property);
      return async (...args: unknown[]) => {
        const t0 = performance.now();
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          const entry = timings.get(name) ?? { count: 0, ms: 0 };
          entry.count++;
          entry.ms += performance.now() - t0;
          timings.set(name, entry);
        }
      };
    },
  });
}

/**
 * Profiles `calls` sequential wrapped calls at `location`: fresh keys (`replay` false) or replays of
 * keys recorded first. Uses its own counted connection; not part of any measured number.
 */
export async function profileCalls(
  location: Location,
  calls: number,
  replay: boolean,
  tag: string,
  options: { readonly scriptTimesUrl?: string | undefined } = {},
): Promise<Profile> {
  const counters = newCounters();
  const opened = await openStore(location, counters);
  const timings: Timings = new Map();
  try {
    const rs = retrysafe({ store: timedStore(opened.store, timings), namespace: 'bench' });
    const charge = chargeOperation(rs);
    const input = (i: number): Charge => ({ id: keyOf(tag, i), amount: 100 });
    await charge(input(-1));
    if (replay) for (let i = 0; i < calls; i++) await charge(input(i));
    resetCounters(counters);
    timings.clear();
    let total = 0;
    const work = async (): Promise<void> => {
      const t0 = performance.now();
      for (let i = 0; i < calls; i++) await charge(input(i));
      total = performance.now() - t0;
    };
    const serverScripts =
      options.scriptTimesUrl === undefined ? undefined : await withScriptTimes(options.scriptTimesUrl, work);
    let walBytesPerCall: number | undefined;
    if (location.kind === 'postgres') {
      walBytesPerCall = (await walBytes(location.url, work)) / calls;
    } else if (serverScripts === undefined) {
      await work();
    }
    let storeMs = 0;
    const storeMethods: Record<string, { perCall: number; msPerCall: number }> = {};
    for (const [name, entry] of timings) {
      storeMs += entry.ms;
      storeMethods[name] = { perCall: entry.count / calls, msPerCall: entry.ms / calls };
    }
    const commandsPerCall: Record<string, number> = {};
    for (const [name, count] of counters.byCommand) commandsPerCall[name] = count / calls;
    return {
      calls,
      msPerCall: total / calls,
      storeMethods,
      executorMsPerCall: (total - storeMs) / calls,
      driverMsPerCall: counters.driverMs / calls,
      roundTripsPerCall: counters.roundTrips / calls,
      transactionsPerCall: counters.transactions / calls,
      statementsPerCall: counters.statements / calls,
      commandsPerCall,
      serverScripts,
      walBytesPerCall,
    };
  } finally {
    await opened.close();
  }
}

/** Bytes of WAL the PostgreSQL server wrote while `work` ran (pg_current_wal_lsn before and after). */
export async function walBytes(url: string, work: () => Promise<void>): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const lsn = async (): Promise<string> =>
      (await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]?.lsn ?? '0/0';
    const before = await lsn();
    await work();
    const after = await lsn();
    const diff = await client.query<{ n: string }>('SELECT pg_wal_lsn_diff($1, $2) AS n', [after, before]);
    return Number(diff.rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

const fmt = (n: number, digits = 3): string => (Math.round(n * 10 ** digits) / 10 ** digits).toString();

/** One markdown line: where a wrapped call's time goes. */
export function describeProfile(profile: Profile, kind: Location['kind']): string {
  const methods = Object.entries(profile.storeMethods)
    .map(([name, m]) => `${name} ×${fmt(m.perCall, 2)} ${fmt(m.msPerCall)} ms`)
    .join(', ');
  const commands = Object.entries(profile.commandsPerCall)
    .map(([name, n]) => `${name} ×${fmt(n, 2)}`)
    .join(', ');
  const driver =
    kind === 'sqlite'
      ? `${fmt(profile.transactionsPerCall, 2)} write transactions and ${fmt(profile.statementsPerCall, 2)} statements`
      : `${fmt(profile.roundTripsPerCall, 2)} round trips (${commands})`;
  const server =
    profile.serverScripts === undefined
      ? ''
      : `; server-side script time: ${describeScriptTimes(profile.serverScripts)}`;
  const wal =
    profile.walBytesPerCall === undefined
      ? ''
      : `; ${Math.round(profile.walBytesPerCall)} bytes of WAL per call`;
  return (
    `${fmt(profile.msPerCall)} ms per call over ${profile.calls} calls: store ${methods}; ` +
    `${driver} per call taking ${fmt(profile.driverMsPerCall)} ms in the driver; ` +
    `${fmt(profile.executorMsPerCall)} ms outside the store (executor)${server}${wal}`
  );
}
