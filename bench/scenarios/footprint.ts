import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { retrysafe } from '../../src/index.ts';
import { pool } from '../lib/measure.ts';
import { row, STORE_KINDS } from '../lib/rows.ts';
import { emptyResult, type Scenario, type ScenarioResult } from '../lib/scenario.ts';
import { destroyLocation, newLocation, openStore, type Location } from '../lib/stores.ts';
import { chargeOperation, keyOf, NOOP } from '../lib/workload.ts';

const DAY = 86_400_000;

/** Bytes the store holds, split into records (with their indexes) and the audit log (with its index). */
interface Bytes {
  readonly records: number;
  readonly audit: number;
}

/**
 * SQLite: bytes in use per table and index (dbstat page size less unused bytes, so that space freed by
 * compaction, which SQLite reuses, is not counted), after checkpointing the WAL into the file.
 */
function sqliteBytes(path: string): Bytes {
  const db = new Database(path);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
    const rows = db.prepare('SELECT name, sum(pgsize - unused) AS bytes FROM dbstat GROUP BY name').all() as {
      name: string;
      bytes: number;
    }[];
    const sum = (part: string): number =>
      rows.filter((r) => r.name.includes(part)).reduce((total, r) => total + r.bytes, 0);
    return { records: sum('records'), audit: sum('audit') };
  } finally {
    db.close();
  }
}

/** PostgreSQL: pg_total_relation_size (heap, TOAST, indexes) after VACUUM FULL, i.e. at rest. */
async function pgBytes(url: string, schema: string): Promise<Bytes> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const size = async (table: string): Promise<number> => {
      const name = `"${schema}"."retrysafe_${table}"`;
      await client.query(`VACUUM FULL ${name}`);
      return Number(
        (await client.query<{ n: string }>(`SELECT pg_total_relation_size($1) AS n`, [name])).rows[0]?.n ?? 0,
      );
    };
    return { records: await size('records'), audit: await size('audit') };
  } finally {
    await client.end();
  }
}

/** Redis: MEMORY USAGE (exact, SAMPLES 0) of every key under the prefix; audit lists apart. */
async function redisBytes(url: string, prefix: string): Promise<Bytes> {
  const redis = new Redis(url);
  redis.on('error', () => undefined);
  try {
    let records = 0;
    let audit = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const bytes = Number(await redis.memory('USAGE', key, 'SAMPLES', 0));
        if (/\}:a:/.test(key)) audit += bytes;
        else records += bytes;
      }
    } while (cursor !== '0');
    return { records, audit };
  } finally {
    await redis.quit().catch(() => undefined);
  }
}

async function measure(location: Location): Promise<Bytes> {
  switch (location.kind) {
    case 'sqlite':
      return sqliteBytes(location.path);
    case 'postgres':
      return pgBytes(location.url, location.schema);
    case 'redis':
      return redisBytes(location.url, location.prefix);
  }
}

const METHOD = {
  sqlite: 'dbstat bytes in use (page size less unused) after a WAL checkpoint',
  postgres: 'pg_total_relation_size after VACUUM FULL',
  redis: 'MEMORY USAGE of every key (SAMPLES 0)',
} as const;

/** Scenario 7: bytes per record, with a small result and as a tombstone. */
export const footprint: Scenario = {
  name: 'footprint',
  title: 'Footprint: bytes per record',
  stores: STORE_KINDS,
  async run(context): Promise<ScenarioResult> {
    const result = emptyResult();
    const count = context.quick ? 500 : 10_000;
    for (const kind of context.stores) {
      context.log(`footprint: ${kind}`);
      const location = newLocation(kind, context.env, 'footprint');
      const opened = await openStore(location);
      try {
        // A 1 ms TTL: records keep their result until gc compacts them into tombstones.
        const rs = retrysafe({
          store: opened.store,
          namespace: 'bench',
          defaults: { ttlMs: 1, tombstoneMs: 30 * DAY },
        });
        await opened.store.migrate();
        const empty = await measure(location);
        const charge = chargeOperation(rs);
        await pool(count, 16, (i) => charge({ id: keyOf(`f${context.env.runId}`, i), amount: 100 }));
        const full = await measure(location);
        const sampleKey = charge.keyOf({ id: keyOf(`f${context.env.runId}`, 0), amount: 100 });
        const auditEntries = (await opened.store.audit(sampleKey)).length;
        const resultBytes = Buffer.byteLength((await opened.store.get(sampleKey))?.result ?? '');
        const summary = await opened.store.gc();
        const tombstones = await measure(location);
        const add = (label: string, bytes: Bytes): void => {
          const records = (bytes.records - empty.records) / count;
          const audit = (bytes.audit - empty.audit) / count;
          result.rows.push(
            row({
              scenario: 'footprint',
              case: label,
              impl: 'retrysafe',
              store: kind,
              downstream: NOOP,
              note: `${Math.round(records + audit)} B per record: ${Math.round(records)} B record and indexes + ${Math.round(audit)} B audit log (${auditEntries} entries)`,
              extra: {
                bytes_per_record: Math.round(records + audit),
                record_bytes_per_record: Math.round(records),
                audit_bytes_per_record: Math.round(audit),
                records: count,
                audit_entries_per_record: auditEntries,
                result_bytes: resultBytes,
                method: METHOD[kind],
              },
            }),
          );
        };
        add(`small result (succeeded, ${resultBytes}-byte result)`, full);
        add(`tombstone (after gc compacted ${summary.compacted})`, tombstones);
      } finally {
        await opened.close();
        await destroyLocation(location);
      }
    }
    result.notes.push(
      `${count} records written through the store, each with the benchmark’s small result ` +
        '(`{"value":{"chargeId":"ch_…","ok":true}}`), then compacted to tombstones by `gc()`; bytes are the ' +
        'growth over the empty schema divided by the records. SQLite: ' +
        METHOD.sqlite +
        '; PostgreSQL: ' +
        METHOD.postgres +
        '; Redis: ' +
        METHOD.redis +
        ', the per-bucket indexes counted with the records.',
    );
    return result;
  },
};
