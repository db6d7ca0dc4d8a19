import type { Fault } from '../scenario.ts';
import type { ProviderMode } from './modes.ts';

/** Configuration the harness hands the provider process (one JSON argument). */
export interface ProviderConfig {
  readonly faults: Readonly<Record<string, readonly Fault[]>>;
  /** Idempotency semantics (`--provider`); see modes.ts. */
  readonly mode: ProviderMode;
  /** Seeds the lookup lag of the strict modes. */
  readonly seed: number;
  /** Honour the `Idempotency-Key` header like a provider with native keys. Default off: the layer must do the work. */
  readonly nativeKeys: boolean;
  /** How long a `timeout-after-effect` answer is held: longer than the client's timeout. */
  readonly timeoutHoldMs: number;
  /** How long a `hold-for-stop` answer is held after the announcement. */
  readonly stopHoldMs: number;
}

/** One applied effect (a charge). */
export interface Effect {
  readonly effectId: string;
  readonly op: string;
  /** The `x-caller` header of the request that made it (a trace of which delivery did it). */
  readonly caller: string;
  /** Strict modes: the marker the request carried (the lookup finds the write by it). */
  readonly marker?: string;
}

/** Lines the provider prints on stdout. */
export type ProviderEvent =
  | { readonly event: 'listening'; readonly port: number }
  /** A `hold-for-stop` request made its effect; its caller (pid) may be frozen now. */
  | { readonly event: 'hold'; readonly op: string; readonly pid: number };

/** What `GET /control/ledger` answers. */
export interface Ledger {
  readonly effects: Record<string, number>;
  readonly requests: Record<string, number>;
}
