import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { CachePersistenceLayer } from '@aws-lambda-powertools/idempotency/cache';
import { Idempotency } from '@node-idempotency/core';
import { RedisStorageAdapter } from '@node-idempotency/storage-adapter-redis';
import { createClient } from '@redis/client';
import { receiptOf, type Charge, type Receipt } from './workload.ts';

/** A peer library wrapping the benchmark's no-op call, and what it does not guarantee. */
export interface Peer {
  readonly name: string;
  /** Guarantees retrysafe keeps that this peer lacks, in brief (beside its numbers). */
  readonly lacks: string;
  /** The same, explained (under the table). */
  readonly lacksInFull: string;
  call(charge: Charge): Promise<Receipt>;
  close(): Promise<void>;
}

type LambdaContext = Parameters<IdempotencyConfig['registerLambdaContext']>[0];

const SEVEN_DAYS_S = 7 * 86_400;
/** The in-progress lease Powertools takes from the Lambda context; the same 30 s retrysafe uses. */
const LEASE_MS = 30_000;

/**
 * `@aws-lambda-powertools/idempotency` with its cache persistence layer on `@redis/client`, run outside
 * Lambda: a `keyPrefix`, and a stand-in Lambda context whose remaining time sets the in-progress lease
 * (without it concurrent calls double-execute). No payload validation: on the cache layer it refuses
 * identical replays.
 */
export async function powertoolsPeer(url: string, prefix: string): Promise<Peer> {
  const client = await createClient({ url }).connect();
  const config = new IdempotencyConfig({ eventKeyJmesPath: 'id', expiresAfterSeconds: SEVEN_DAYS_S });
  const context: Pick<LambdaContext, 'getRemainingTimeInMillis'> = {
    getRemainingTimeInMillis: () => LEASE_MS,
  };
  config.registerLambdaContext(context as LambdaContext);
  const call = makeIdempotent(async (charge: Charge) => Promise.resolve(receiptOf(charge)), {
    persistenceStore: new CachePersistenceLayer({ client }),
    config,
    keyPrefix: `${prefix}powertools`,
  });
  return {
    name: 'powertools-cache',
    lacks:
      'lacks: fencing; server clock; a lease outside Lambda; keeps the record on error; payload check; audit',
    lacksInFull:
      'no fencing: the result is an unconditional SET, so a holder whose lease lapsed overwrites a newer ' +
      'attempt; lease and expiry on the client clock; the lease exists only through a Lambda context ' +
      '(stand-in here); the record is deleted when the call throws (an ambiguous failure runs again); ' +
      'no payload check (payloadValidationJmesPath refuses identical replays on this layer); no audit log',
    call: (charge) => call(charge),
    close: async () => {
      await client.quit();
    },
  };
}

/**
 * `@node-idempotency/core` with its Redis storage adapter (node-redis v4), called in-process around the
 * no-op like its framework middlewares do: `onRequest`, the call, `onResponse`.
 */
export async function nodeIdempotencyPeer(url: string, prefix: string): Promise<Peer> {
  const adapter = new RedisStorageAdapter({ url });
  await adapter.connect();
  const idempotency = new Idempotency(adapter, {
    cacheKeyPrefix: `${prefix}nodeidem`,
    cacheTTLMS: SEVEN_DAYS_S * 1000,
  });
  return {
    name: 'node-idempotency',
    lacks:
      'lacks: a lease (crash blocks the key until TTL); fencing; waiting by notification; outcome classes; audit',
    lacksInFull:
      'no lease: a key whose holder crashed stays in progress until the cache TTL; no fencing (the result ' +
      'is an unconditional SET); a concurrent caller fails at once or polls every 100 ms; the fingerprint ' +
      'is JSON.stringify, so reordered fields are a mismatch; no outcome classification, no audit log',
    call: async (charge) => {
      const request = {
        headers: { 'idempotency-key': charge.id },
        path: '/charge',
        method: 'POST',
        body: { amount: charge.amount },
      };
      const stored = await idempotency.onRequest<Receipt, unknown>(request);
      if (stored?.body !== undefined) return stored.body;
      const body = receiptOf(charge);
      await idempotency.onResponse(request, { body });
      return body;
    },
    close: async () => {
      await adapter.disconnect();
    },
  };
}
