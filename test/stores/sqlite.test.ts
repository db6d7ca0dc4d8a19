import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/errors/errors.ts';
import { sqliteStore, type SqliteStoreOptions, type Synchronous } from '../../src/stores/sqlite/index.ts';
import { sqlStateTerms } from '../../src/stores/shared.ts';
import { tablesFor } from '../../src/stores/sqlite/schema.ts';
import { gcStatements } from '../../src/stores/sqlite/statements.ts';
import type { Store } from '../../src/stores/types.ts';
import { runStoreContract } from '../../src/testing/index.ts';
import { beginRequest, reserve, settled, settlement } from '../../src/testing/contract/support.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'retrysafe-sqlite-'));
let files = 0;
const newFile = (): string => path.join(dir, `store-${++files}.db`);

const opened: Store[] = [];
const rawOpened: Database.Database[] = [];
async function open(options: Partial<SqliteStoreOptions> = {}): Promise<Store> {
  const store = sqliteStore(options.database === undefined ? { path: newFile(), ...options } : options);
  opened.push(store);
  await store.migrate();
  return store;
}
function raw(file: string): Database.Database {
  const db = new Database(file);
  rawOpened.push(db);
  return db;
}

afterAll(async () => {
  for (const store of opened) await store.close();
  for (const db of rawOpened) if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

const contractFile = newFile();
let contractDb: Database.Database | undefined;
runStoreContract({
  name: 'sqlite',
  runner: { describe, it, beforeAll, afterAll },
  create: () => Promise.resolve(sqliteStore({ path: contractFile })),
  eraseLeaseEnd: (key) => {
    contractDb ??= raw(contractFile);
    contractDb.prepare('UPDATE "retrysafe_records" SET lease_until = NULL WHERE key = ?').run(key);
    return Promise.resolve();
  },
});

describe('sqlite store', () => {
  it('runs in WAL mode with synchronous FULL by default, and takes NORMAL or EXTRA', async () => {
    const file = newFile();
    const db = raw(file);
    await open({ database: db });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);

    const normal = raw(file);
    await open({ database: normal, synchronous: 'NORMAL', busyTimeoutMs: 250 });
    expect(normal.pragma('synchronous', { simple: true })).toBe(1);
    expect(normal.pragma('busy_timeout', { simple: true })).toBe(250);
    const extra = raw(file);
    await open({ database: extra, synchronous: 'EXTRA' });
    expect(extra.pragma('synchronous', { simple: true })).toBe(3);
  });

  it('leaves a database it was given open on close', async () => {
    const db = raw(newFile());
    const store = sqliteStore({ database: db });
    await store.migrate();
    await store.close();
    expect(db.open).toBe(true);
  });

  it('two connections on one file see each other, and 2x20 concurrent begins reserve once', async () => {
    const file = newFile();
    const a = await open({ path: file });
    const b = await open({ path: file });
    const first = await settled(a, 'shared:first');
    expect(await b.get('shared:first')).toEqual(first);

    const requests = Array.from({ length: 20 }, () => beginRequest('shared:race'));
    const results = await Promise.all(
      requests.flatMap((request) => [a.begin(request), b.begin({ ...request, token: `${request.token}-b` })]),
    );
    expect(results.filter((result) => result.reserved)).toHaveLength(1);
    expect(await a.get('shared:race')).toMatchObject({ state: 'in_flight', attempt: 1 });
  });

  it('keeps records across close and reopen', async () => {
    const file = newFile();
    const store = sqliteStore({ path: file });
    await store.migrate();
    const record = await settled(store, 'durable');
    const audit = await store.audit('durable');
    await store.close();

    const reopened = await open({ path: file });
    expect(await reopened.get('durable')).toEqual(record);
    expect(await reopened.audit('durable')).toEqual(audit);
  });

  it('answers a replay while another connection holds the write lock; a new key waits for it', async () => {
    const file = newFile();
    const store = await open({ path: file, busyTimeoutMs: 100 });
    await settled(store, 'done');
    const writer = raw(file);
    writer.exec('BEGIN IMMEDIATE');
    try {
      const replay = await store.begin(beginRequest('done'));
      expect(replay.reserved).toBe(false);
      expect(replay.reserved ? null : replay.record.state).toBe('succeeded');
      await expect(store.begin(beginRequest('new'))).rejects.toThrow();
    } finally {
      writer.exec('ROLLBACK');
    }
    expect((await store.begin(beginRequest('new'))).reserved).toBe(true);
  });

  it('refuses to update or delete audit entries', async () => {
    const file = newFile();
    const store = await open({ path: file });
    const { lease } = await reserve(store, 'audited');
    // A settlement under another token is refused and logged as a late write.
    await store.settle({ ...lease, token: 'stale' }, settlement());
    const db = raw(file);
    expect(() => db.prepare(`UPDATE retrysafe_audit SET actor = 'mallory'`).run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM retrysafe_audit').run()).toThrow(/append-only/);
    expect((await store.audit('audited'))[0]?.actor).toBe('executor');
  });

  it('refuses a database whose schema is newer than this code', async () => {
    const file = newFile();
    await open({ path: file });
    raw(file).prepare(`UPDATE retrysafe_meta SET value = 999 WHERE name = 'schema_version'`).run();

    const newer = sqliteStore({ path: file });
    opened.push(newer);
    await expect(newer.migrate()).rejects.toBeInstanceOf(ConfigurationError);
    await expect(newer.get('x')).rejects.toThrow(/version 999/);
  });

  it('refuses to run before migrate, with a message that says so', async () => {
    const store = sqliteStore({ path: newFile() });
    opened.push(store);
    await expect(store.begin(beginRequest('early'))).rejects.toThrow(/migrate\(\)/);
    await store.migrate();
    expect((await store.begin(beginRequest('early'))).reserved).toBe(true);
  });

  it('refuses bad options', () => {
    for (const tablePrefix of ['bad-prefix', '1st_', 'x"; DROP TABLE y; --', '', 'a'.repeat(49)]) {
      expect(() => sqliteStore({ path: newFile(), tablePrefix })).toThrow(ConfigurationError);
    }
    expect(() => sqliteStore({})).toThrow(ConfigurationError);
    expect(() => sqliteStore({ path: newFile(), database: raw(newFile()) })).toThrow(ConfigurationError);
    const synchronous = 'OFF' as unknown as Synchronous;
    expect(() => sqliteStore({ path: newFile(), synchronous })).toThrow(ConfigurationError);
    expect(() => sqliteStore({ path: newFile(), busyTimeoutMs: -1 })).toThrow(ConfigurationError);
  });

  it('keeps stores with different table prefixes apart in one file', async () => {
    const file = newFile();
    const one = await open({ path: file, tablePrefix: 'one_' });
    const two = await open({ path: file, tablePrefix: 'two_' });
    await settled(one, 'prefixed');
    expect(await two.get('prefixed')).toBeUndefined();
    expect((await two.begin(beginRequest('prefixed'))).reserved).toBe(true);
    const tables = raw(file)
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'two_%' ORDER BY name`)
      .all();
    expect(tables).toEqual([
      { name: 'two_audit' },
      { name: 'two_meta' },
      { name: 'two_overrides' },
      { name: 'two_records' },
    ]);
  });

  it('finds gc work and open records through its partial indexes, never by a scan', async () => {
    const file = newFile();
    await open({ path: file });
    const plan = (sql: string, ...params: unknown[]): string =>
      raw(file)
        .prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .all(...params)
        .map((row) => (row as { detail: string }).detail)
        .join('\n');
    const gc = gcStatements(tablesFor('retrysafe_'));
    for (const sql of [gc.compactBatch, gc.deleteBatch]) {
      const detail = plan(sql, 0, 0, 10);
      expect(detail, sql).toContain('USING INDEX retrysafe_records_gc');
      expect(detail).not.toMatch(/SCAN retrysafe_records(?! USING)/);
    }
    const columns = 'SELECT key FROM retrysafe_records WHERE';
    for (const states of [['unknown'], ['in_flight', 'unknown']]) {
      const detail = plan(`${columns} ${sqlStateTerms(states).join(' AND ')} ORDER BY updated_at LIMIT 10`);
      expect(detail, states.join()).toContain('USING INDEX retrysafe_records_open');
    }
  });

  it('several processes migrating one new file at once and racing on keys reserve each key once', async () => {
    const file = newFile();
    const storeModule = pathToFileURL(path.resolve('src/stores/sqlite/index.ts')).href;
    const script = `
      const { sqliteStore } = await import(${JSON.stringify(storeModule)});
      const store = sqliteStore({ path: ${JSON.stringify(file)} });
      await store.migrate();
      let reserved = 0;
      for (let i = 0; i < 30; i++) {
        const r = await store.begin({ key: 'race:' + i, operation: 'race@1', fingerprint: 'sha256:a',
          retryFailed: false, token: crypto.randomUUID(), leaseMs: 60000 });
        if (r.reserved) reserved++;
      }
      await store.close();
      process.stdout.write(String(reserved));
    `;
    const runChild = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
        child.on('error', reject);
        child.on('exit', (code) => {
          if (code === 0) resolve(Number(out));
          else reject(new Error(`worker exited with ${String(code)}: ${err}`));
        });
      });
    const counts = await Promise.all([runChild(), runChild(), runChild()]);
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(30);

    const store = await open({ path: file });
    const records = await store.list({ operation: 'race@1', limit: 100 });
    expect(records).toHaveLength(30);
    expect(records.every((record) => record.attempt === 1)).toBe(true);
  });
});
