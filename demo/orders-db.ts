import Database from 'better-sqlite3';

/**
 * The automation's own bookkeeping: which orders it believes are paid. Both variants keep it, exactly as
 * a real job would, and skip orders already marked; the gaps it leaves (a response lost, a crash before
 * the mark, two runs checking before either marks) are what the demo shows.
 */
export interface PaidOrders {
  isPaid(orderId: string): boolean;
  markPaid(orderId: string, chargeId: string, by: string): void;
  /** Order ids marked paid. */
  paid(): Set<string>;
  close(): void;
}

export function openPaidOrders(path: string): PaidOrders {
  const db = new Database(path);
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE IF NOT EXISTS paid_orders (
    order_id TEXT PRIMARY KEY,
    charge_id TEXT NOT NULL,
    marked_by TEXT NOT NULL
  )`);
  const select = db.prepare<[string], { order_id: string }>(
    'SELECT order_id FROM paid_orders WHERE order_id = ?',
  );
  const insert = db.prepare<[string, string, string]>(
    'INSERT OR IGNORE INTO paid_orders (order_id, charge_id, marked_by) VALUES (?, ?, ?)',
  );
  const all = db.prepare<[], { order_id: string }>('SELECT order_id FROM paid_orders');
  return {
    isPaid: (orderId) => select.get(orderId) !== undefined,
    markPaid: (orderId, chargeId, by) => {
      insert.run(orderId, chargeId, by);
    },
    paid: () => new Set(all.all().map((row) => row.order_id)),
    close: () => {
      db.close();
    },
  };
}
