import type { Impl } from './types.ts';
import type { WorkerConfig } from '../worker/protocol.ts';

/** Opens the implementation a worker runs; each is imported on demand so a worker loads only its own. */
export async function openImpl(config: WorkerConfig): Promise<Impl> {
  switch (config.impl) {
    case 'retrysafe':
      return (await import('./retrysafe.ts')).openRetrysafe(config);
    case 'plain':
      return (await import('./plain.ts')).openPlain(config);
    case 'powertools':
    case 'powertools-no-context':
      return (await import('./powertools.ts')).openPowertools(config, config.impl === 'powertools');
    case 'node-idempotency':
      return (await import('./node-idempotency.ts')).openNodeIdempotency(config);
    case 'express-idempotency':
      return (await import('./express-idempotency.ts')).openExpressIdempotency(config);
  }
}
