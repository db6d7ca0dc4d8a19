import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { retrysafe } from '../../src/index.ts';
import { postgresStore } from '../../src/stores/postgres/index.ts';
import { percentile } from './stats.ts';
import type { Location } from './stores.ts';
import { chargeOperation, keyOf } from './workload.ts';

interface Captured {
  readonly text: string;
  readonly values: unknown[];
  /** Set when the store sent it as a named prepared statement. */
  readonly name?: string | undefined;
}

/** What one fresh-key call sends to PostgreSQL, and what the server does with it. */
export interface StatementDiagnostic {
  /** Bytes of SQL text per statement of one fresh-key call, in order (begin, settle). */
  readonly textBytes: number[];
  /** Server-side planning and execution ms of `begin` on a fresh key (EXPLAIN ANALYZE, median of 5). */
  readonly beginPlanningMs: number;
  readonly beginExecutionMs: number;
  readonly settlePlanningMs: number;
  /** Whether the store sends its statements as named prepared statements. */
  readonly storeNamesStatements: boolean;
  /** Median ms per `begin` round trip sent unnamed and as a named prepared statement. */
  readonly unnamedMs: number;
  readonly namedMs: number;
}

/**
 * Captures the statements of one wrapped call (through a recording pool), then measures on one
 * connection: EXPLAIN ANALYZE planning and execution time of `begin`, and the same `begin` sent unnamed
 * (as the store does, parsed and planned every time) against a named prepared statement, alternating.
 * Diagnostic only: it measures the store's own SQL, it does not change the store.
 */
export async function pgStatementDiagnostic(
  location: Extract<Location, { kind: 'postgres' }>,
  calls: number,
): Promise<StatementDiagnostic> {
  const pool = new pg.Pool({ connectionString: location.url, max: 2 });
  pool.on('error', () => undefined);
  const seen: Captured[] = [];
  const recording = new Proxy(pool, {
    get(target, property) {
      if (property === 'query') {
        // The store sends named statements ({ name, text, values }); record the text and values.
        return (query: string | { name?: string; text: string; values?: unknown[] }, values?: unknown[]) => {
          if (typeof query === 'string') {
            seen.push({ text: query, values: values ?? [] });
            return target.query(query, values);
          }
          seen.push({ text: query.text, values: query.values ?? [], name: query.name });
          return target.query(query);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const store = postgresStore({ pool: recording, schema: location.schema });
  const client = new pg.Client({ connectionString: location.url });
  client.on('error', () => undefined);
  try {
    const charge = chargeOperation(retrysafe({ store, namespace: 'bench' }));
    const tag = `d${randomUUID().slice(0, 8)}`;
    await charge({ id: keyOf(tag, -1), amount: 100 });
    seen.length = 0;
    await charge({ id: keyOf(tag, 0), amount: 100 });
    const [begin, settle] = seen;
    if (begin === undefined || settle === undefined) throw new Error('expected two statements per call');
    const fresh = (): unknown[] => {
      const values = [...begin.values];
      values[0] = `${String(values[0])}-${randomUUID()}`;
      return values;
    };
    await client.connect();
    const explain = async (
      text: string,
      values: unknown[],
    ): Promise<{ planning: number; execution: number }> => {
      await client.query('BEGIN');
      try {
        const result = await client.query<{
          'QUERY PLAN': { 'Planning Time': number; 'Execution Time': number }[];
        }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, values);
        const plan = result.rows[0]?.['QUERY PLAN'][0];
        return {
          planning: plan?.['Planning Time'] ?? Number.NaN,
          execution: plan?.['Execution Time'] ?? Number.NaN,
        };
      } finally {
        await client.query('ROLLBACK');
      }
    };
    const beginPlans = [];
    const settlePlans = [];
    for (let i = 0; i < 5; i++) {
      beginPlans.push(await explain(begin.text, fresh()));
      settlePlans.push(await explain(settle.text, settle.values));
    }
    const unnamed: number[] = [];
    const named: number[] = [];
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < calls / 4; i++) {
        let t0 = performance.now();
        await client.query(begin.text, fresh());
        unnamed.push(performance.now() - t0);
        t0 = performance.now();
        await client.query({ name: 'rsbench_begin', text: begin.text, values: fresh() });
        named.push(performance.now() - t0);
      }
    }
    return {
      textBytes: [Buffer.byteLength(begin.text), Buffer.byteLength(settle.text)],
      storeNamesStatements: begin.name !== undefined && settle.name !== undefined,
      beginPlanningMs: percentile(
        beginPlans.map((p) => p.planning),
        50,
      ),
      beginExecutionMs: percentile(
        beginPlans.map((p) => p.execution),
        50,
      ),
      settlePlanningMs: percentile(
        settlePlans.map((p) => p.planning),
        50,
      ),
      unnamedMs: percentile(unnamed, 50),
      namedMs: percentile(named, 50),
    };
  } finally {
    await client.end().catch(() => undefined);
    await store.close();
    await pool.end();
  }
}

export function describeStatementDiagnostic(d: StatementDiagnostic): string {
  const f = (n: number): string => n.toFixed(3);
  return (
    (d.storeNamesStatements
      ? `The store sends its statements as named prepared statements (${d.textBytes.map((b) => `${b} B`).join(' and ')} ` +
        'of SQL for begin and settle), parsed and planned once per connection. '
      : `The store sends its statements unnamed (${d.textBytes.map((b) => `${b} B`).join(' and ')} of SQL for begin ` +
        'and settle), so PostgreSQL parses, analyses and plans them on every call. ') +
    `EXPLAIN ANALYZE of begin on a fresh key: planning ${f(d.beginPlanningMs)} ms, execution ` +
    `${f(d.beginExecutionMs)} ms (settle planning ${f(d.settlePlanningMs)} ms); parsing and analysis come on top. ` +
    'The same begin, alternately sent unnamed and as a named prepared statement on one connection: ' +
    `p50 ${f(d.unnamedMs)} ms unnamed, ${f(d.namedMs)} ms named.`
  );
}
