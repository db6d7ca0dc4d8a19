import type { ProviderMode } from '../provider/modes.ts';

/** The implementations under test (`--impl`). */
export const IMPLS = [
  'retrysafe',
  'plain',
  'powertools',
  'powertools-no-context',
  'node-idempotency',
  'express-idempotency',
] as const;
export type ImplName = (typeof IMPLS)[number];

/** The stores (`--store`, and `--store all`). Peers and plain retries run on the private Redis only. */
export const STORES = ['sqlite', 'postgres', 'redis'] as const;
/**
 * A primary and a replica behind an address that moves, failed over mid-run (store-servers.ts).
 * retrysafe only, named one at a time (`--store all` leaves them out: each run fails a server over).
 */
export const REPLICATED_STORES = ['redis-replicated', 'postgres-replicated'] as const;
export type StoreName = (typeof STORES)[number] | (typeof REPLICATED_STORES)[number];

/** Where a worker finds its store. */
export type StoreSpec =
  | { readonly kind: 'sqlite'; readonly path: string }
  | {
      readonly kind: 'postgres';
      readonly url: string;
      readonly schema: string;
      /** A replicated primary run without its protection (`--unprotected`). */
      readonly allowAsynchronousStandbys?: boolean;
    }
  | {
      readonly kind: 'redis';
      readonly url: string;
      readonly prefix: string;
      /** Replicas every transition waits for (a replicated primary). */
      readonly replicaAcks?: number;
      readonly replicaAckTimeoutMs?: number;
      /** A replicated primary run without its protection (`--unprotected`). */
      readonly allowUnacknowledgedReplicas?: boolean;
    };

/** Points of one delivery where the harness may act (kill -9 the worker). */
export interface CallHooks {
  /** Reserved (where the implementation reserves), about to send. */
  beforeCall(): void;
  /** The request is on its way. */
  afterSend(): void;
  /** The provider answered with its effect; nothing is recorded yet. */
  afterEffect(key: string): void;
}

/** How one try of a delivery ended, as the automation sees it. */
export type TryOutcome =
  | { readonly status: 'ok'; readonly replayed: boolean }
  /** Transient: the automation tries again after a backoff. */
  | { readonly status: 'retry'; readonly detail: string }
  /** The outcome is unknown: the automation stops; reconciliation settles it after the run. */
  | { readonly status: 'unknown'; readonly detail: string }
  /** This holder lost its claim; its late write was refused. */
  | { readonly status: 'stale'; readonly detail: string };

export interface ImplConfig {
  readonly store: StoreSpec;
  readonly provider: string;
  readonly leaseMs: number;
  readonly waitMs: number;
  /** The client timeout of every provider call; null in the strict modes (nothing but a library ends a call). */
  readonly callTimeoutMs: number | null;
  /** How the provider treats idempotency keys. */
  readonly providerMode: ProviderMode;
  /** Declare a provider lookup (the reconciliation pass does; the run itself does not). */
  readonly lookup: boolean;
  /** Send the provider key in `Idempotency-Key` (retrysafe always derives one). */
  readonly caller: string;
}

/** One implementation, opened in one process. */
export interface Impl {
  run(op: string, hooks: CallHooks): Promise<TryOutcome>;
  /** Called by the kill hook before `afterEffect` kills during the record. */
  armKillDuringRecord?(key: string, die: () => void): void;
  close(): Promise<void>;
}
