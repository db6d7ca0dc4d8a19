import { rm } from 'node:fs/promises';
import Database from 'better-sqlite3';
import type { Floor } from './floor.ts';

/**
 * The physical floor of a reserve-then-record call on SQLite: two minimal `BEGIN IMMEDIATE` write
 * transactions on a file with the store's settings (WAL, synchronous=FULL, the same busy timeout),
 * through the same driver: insert the key, then a conditional update recording the result.
 */
export function sqliteFloor(path: string): Floor {
  const db = new Database(path);
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS floor (key TEXT PRIMARY KEY, state TEXT NOT NULL, result TEXT)');
  const insert = db.prepare(`INSERT INTO floor (key, state) VALUES (?, 'in_flight')`);
  const update = db.prepare(
    `UPDATE floor SET state = 'succeeded', result = ? WHERE key = ? AND state = 'in_flight'`,
  );
  const select = db.prepare('SELECT result FROM floor WHERE key = ?');
  const reserve = db.transaction((key: string) => insert.run(key).changes);
  const record = db.transaction((key: string, result: string) => update.run(result, key).changes);
  return {
    description: 'two BEGIN IMMEDIATE transactions (INSERT; conditional UPDATE), WAL, synchronous=FULL',
    roundTrips: 2,
    // Async like every store call, so that the floor pays the same promise overhead per step.
    op: async (key, result) => {
      if ((await Promise.resolve(reserve.immediate(key))) !== 1)
        throw new Error('floor: key already reserved');
      if ((await Promise.resolve(record.immediate(key, result))) !== 1)
        throw new Error('floor: record refused');
    },
    read: async (key) => {
      const found = (await Promise.resolve(select.get(key))) as { result: string | null } | undefined;
      if (typeof found?.result !== 'string') throw new Error('floor: no result recorded');
      return found.result;
    },
    close: async () => {
      db.close();
      for (const suffix of ['', '-wal', '-shm']) await rm(path + suffix, { force: true });
    },
  };
}
