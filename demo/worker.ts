/**
 * One run of the automation, as its own process so the orchestrator can kill it mid-call (as a crash,
 * an OOM kill or a redeploy would). Configured by one JSON argument (`WorkerConfig`); prints
 * `WorkerEvent` lines on stdout. Exits when stdin closes, so it never outlives the orchestrator.
 */
import { createInterface } from 'node:readline';
import { chargerFor, runOrders } from './automation.ts';
import { openPaidOrders } from './orders-db.ts';
import type { WorkerConfig, WorkerEvent } from './protocol.ts';

function emit(event: WorkerEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as WorkerConfig;
  const paid = openPaidOrders(config.ordersDbPath);
  const charger = chargerFor(config.variant, config.baseUrl, config.storePath, config.idempotencyKeys);

  const lines = createInterface({ input: process.stdin });
  const go = new Promise<void>((resolve) => {
    lines.on('line', (line) => {
      if (line.trim() === 'go') resolve();
    });
  });
  lines.on('close', () => {
    // The orchestrator is gone: stop rather than run on unsupervised.
    process.exit(1);
  });

  emit({ event: 'ready' });
  if (config.waitForGo) await go;
  try {
    await runOrders(config.orders, charger, paid, config.name, (order, outcome) => {
      emit({ event: 'order', orderId: order.id, outcome });
    });
  } finally {
    await charger.close();
    paid.close();
  }
  emit({ event: 'done' });
  // Exit now: idle keep-alive sockets and stdin must not hold a finished run open.
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `worker failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
