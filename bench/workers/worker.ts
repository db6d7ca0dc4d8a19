/**
 * A benchmark worker process: opens one retrysafe client on a store location and runs what the parent
 * asks (contend on one key, or sequential fresh-key calls for a while), replying over IPC.
 */
import { retrysafe, type Operation } from '../../src/index.ts';
import { contend, until } from '../lib/contend.ts';
import { openStore, type OpenedStore } from '../lib/stores.ts';
import { wallMs } from '../lib/stats.ts';
import { chargeOperation, keyOf, type Charge, type Receipt } from '../lib/workload.ts';
import type { ThroughputReply, WorkerReply, WorkerRequest } from './protocol.ts';

let opened: OpenedStore | undefined;
let charge: Operation<Charge, Receipt> | undefined;

function reply(message: WorkerReply): void {
  process.send?.(message);
}

async function throughput(tag: string, startAt: number, durationMs: number): Promise<ThroughputReply> {
  if (charge === undefined) throw new Error('worker: not opened');
  await until(startAt);
  const latenciesMs: number[] = [];
  const end = startAt + durationMs;
  let ops = 0;
  let now = wallMs();
  while (now < end) {
    const t0 = now;
    await charge({ id: keyOf(tag, ops), amount: 100 });
    now = wallMs();
    latenciesMs.push(now - t0);
    ops++;
  }
  return { ops, elapsedMs: now - startAt, latenciesMs };
}

async function handle(request: WorkerRequest): Promise<WorkerReply> {
  switch (request.type) {
    case 'open': {
      opened = await openStore(request.location);
      const rs = retrysafe({ store: opened.store, namespace: 'bench' });
      charge = chargeOperation(rs, request.sleepMs);
      await opened.store.migrate();
      return { type: 'opened' };
    }
    case 'contend':
      if (charge === undefined) throw new Error('worker: not opened');
      return {
        type: 'contended',
        reply: await contend([charge], request.key, request.callers, request.startAt),
      };
    case 'throughput':
      return {
        type: 'throughput',
        reply: await throughput(request.tag, request.startAt, request.durationMs),
      };
    case 'close':
      await opened?.close();
      opened = undefined;
      return { type: 'closed' };
  }
}

process.on('message', (message: WorkerRequest) => {
  handle(message).then(
    (answer) => {
      reply(answer);
      if (answer.type === 'closed') process.disconnect();
    },
    (error: unknown) => {
      reply({
        type: 'error',
        message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
    },
  );
});
