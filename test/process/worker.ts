/**
 * A worker process: `node --import tsx test/process/worker.ts '<WorkerConfig JSON>'`. Opens the store
 * the config names, runs the ledger operation for each id and prints one JSON line per event
 * (protocol.ts). Only the test process counts effects, on the ledger server.
 */
import { createInterface } from 'node:readline';
import { retrysafe, RetrySafeError, StoreUnavailableError } from '../../src/index.ts';
import { ledgerOperation } from './ledger-operation.ts';
import type { WorkerConfig, WorkerEvent } from './protocol.ts';
import { openStore } from './store-spec.ts';

function emit(event: WorkerEvent): void {
  // Pipes are written synchronously on POSIX, so a line printed here survives a kill right after.
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function report(id: string, error: unknown): WorkerEvent {
  if (error instanceof RetrySafeError) {
    const record = error.record;
    return {
      type: 'error',
      id,
      code: error.code,
      name: error.name,
      message: error.message,
      record:
        record === undefined
          ? null
          : { state: record.state, attempt: record.attempt, generation: record.generation },
    };
  }
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { type: 'error', id, code: 'UNEXPECTED', name, message, record: null };
}

async function waitForGo(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === 'go') break;
  }
  lines.close();
}

async function main(argument: string | undefined): Promise<void> {
  if (argument === undefined) throw new Error('usage: worker.ts <WorkerConfig JSON>');
  const config = JSON.parse(argument) as WorkerConfig;
  const store = await openStore(config.store);
  await store.migrate();
  const rs = retrysafe({ store, namespace: config.namespace, migrate: false });
  const write = ledgerOperation(rs, {
    server: config.server,
    lookup: config.lookup ?? false,
    policy: {
      ...(config.leaseMs === undefined ? {} : { leaseMs: config.leaseMs }),
      ...(config.waitMs === undefined ? {} : { waitMs: config.waitMs }),
    },
    onCall: (id, attempt) => {
      emit({ type: 'calling', id, attempt });
    },
  });

  emit({ type: 'ready', pid: process.pid });
  if (config.waitForGo === true) await waitForGo();

  const queue = [...config.ids];
  const unavailableLimit = config.stopAfterUnavailable ?? Infinity;
  let unavailable = 0;
  const runner = async (): Promise<void> => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      try {
        const { value, replayed, reconciled, attempt, generation, key, providerKey } = await write(id);
        emit({ type: 'result', id, value, replayed, reconciled, attempt, generation, key, providerKey });
      } catch (error) {
        emit(report(id, error));
        // Ids never taken get no event at all: the test knows them by their silence.
        if (error instanceof StoreUnavailableError && ++unavailable >= unavailableLimit) queue.length = 0;
      }
    }
  };
  const concurrency = Math.max(1, config.concurrency ?? 1);
  await Promise.all(Array.from({ length: concurrency }, runner));
  await store.close();
  emit({ type: 'done' });
}

main(process.argv[2]).then(
  // Exit at once: idle keep-alive sockets to the ledger server must not hold the process open.
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `worker failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
