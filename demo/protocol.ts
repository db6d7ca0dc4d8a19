/**
 * Shapes shared by the demo's processes: the payments server, the workers and the orchestrator talk in
 * JSON over HTTP and over stdout lines.
 */

/** An order the automation must charge exactly once. */
export interface Order {
  readonly id: string;
  /** Minor units (cents). */
  readonly amount: number;
  readonly currency: string;
}

/** A charge as the payments server records and returns it. */
export interface Charge {
  readonly id: string;
  readonly orderId: string;
  readonly amount: number;
  readonly currency: string;
  /** Which POST for this order (1-based) made the charge. */
  readonly request: number;
}

/**
 * What the server does to a matching `POST /charges`:
 * - `fail-503`: answers 503 before charging (nothing happened).
 * - `fail-500-stored`: answers 500 before charging; a request with an `Idempotency-Key` has that 500
 *   stored under its key, and every later request with the key gets it replayed (as Stripe does).
 * - `drop-after-charge`: charges, then closes the connection without answering (response lost).
 * - `delay-after-charge`: charges, then answers after `ms` (the client times out first).
 * - `hold-after-charge`: charges, then never answers; announces `held` on stdout (a worker is killed there).
 * - `rendezvous`: holds the request up to `ms` until another request for the same order arrives, then
 *   both proceed (two overlapping runs always meet inside the race window).
 */
export type FaultKind =
  | 'fail-503'
  | 'fail-500-stored'
  | 'drop-after-charge'
  | 'delay-after-charge'
  | 'hold-after-charge'
  | 'rendezvous';

export interface FaultRule {
  /** An order id, or `*` for every order. */
  readonly orderId: string;
  /** Which POSTs for that order (1-based, counted by the server over its whole life); all when absent. */
  readonly requests?: readonly number[];
  readonly fault: FaultKind;
  readonly ms?: number;
}

/** `GET /ledger`: everything the server did, for counting. */
export interface Ledger {
  readonly charges: readonly Charge[];
  /** `POST /charges` requests received (calls sent by the automation). */
  readonly posts: number;
  /** `GET /charges?orderId=` requests received (reconciliation lookups). */
  readonly lookups: number;
}

/** Lines the payments server prints on stdout. */
export type ServerEvent =
  | { readonly event: 'listening'; readonly port: number }
  | { readonly event: 'held'; readonly orderId: string; readonly chargeId: string };

export type Variant = 'naive' | 'retrysafe';

/** The worker's configuration, passed as one JSON argument. */
export interface WorkerConfig {
  readonly name: string;
  readonly variant: Variant;
  /** Payments server base URL. */
  readonly baseUrl: string;
  readonly orders: readonly Order[];
  /** The automation's own bookkeeping (which orders it believes are paid). */
  readonly ordersDbPath: string;
  /** The retrysafe store (retrysafe variant only). */
  readonly storePath: string;
  /**
   * Send an `Idempotency-Key` with every charge: plain retries the order id (as the API's docs advise),
   * retrysafe its provider key.
   */
  readonly idempotencyKeys: boolean;
  /** Print `ready`, then wait for a `go` line on stdin before starting (lines runs up). */
  readonly waitForGo: boolean;
}

/** How one order ended in one run of the automation. */
export type OrderOutcome =
  | { readonly kind: 'skipped' }
  | {
      readonly kind: 'charged';
      readonly chargeId: string;
      readonly tries: number;
      /** retrysafe: the result came from the store or a lookup, not from a new charge. */
      readonly replayed: boolean;
      readonly reconciled: boolean;
    }
  | { readonly kind: 'gave-up'; readonly tries: number; readonly error: string };

/** Lines a worker prints on stdout. */
export type WorkerEvent =
  | { readonly event: 'ready' }
  | { readonly event: 'order'; readonly orderId: string; readonly outcome: OrderOutcome }
  | { readonly event: 'done' };
