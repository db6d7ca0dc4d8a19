import type { Impl } from './types.ts';
import type { WorkerConfig } from '../worker/protocol.ts';

/**
 * Why express-idempotency has no row yet: it is Express middleware whose shared store is a separate
 * package (express-idempotency-redis-adapter); none of the three is a dev dependency yet, and its
 * default in-memory adapter cannot be shared by several worker processes, so a run would measure nothing.
 */
export const EXPRESS_IDEMPOTENCY_NOT_RUN =
  'not run: needs express, express-idempotency and express-idempotency-redis-adapter as dev ' +
  'dependencies; its in-memory adapter cannot be shared across worker processes';

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
      throw new Error(EXPRESS_IDEMPOTENCY_NOT_RUN);
  }
}
