import type { CallHooks } from '../impls/types.ts';
import type { Effect } from './protocol.ts';

/** A non-2xx answer of the provider. `noEffect`: the provider guarantees nothing was done. */
export class ProviderError extends Error {
  readonly status: number;
  readonly noEffect: boolean;
  constructor(status: number, noEffect: boolean, body: string) {
    super(`provider answered ${status}: ${body.slice(0, 200)}`);
    this.name = 'ProviderError';
    this.status = status;
    this.noEffect = noEffect;
  }
}

export interface ChargeOptions {
  readonly provider: string;
  readonly op: string;
  readonly caller: string;
  readonly timeoutMs: number;
  readonly hooks: CallHooks;
  readonly idempotencyKey?: string;
  readonly key?: string;
  readonly signal?: AbortSignal;
}

/** The automation's external write: one charge for `op`. Every implementation calls exactly this. */
export async function charge(options: ChargeOptions): Promise<Effect> {
  const { hooks } = options;
  hooks.beforeCall();
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const pending = fetch(`${options.provider}/charges`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-caller': options.caller,
      'x-worker-pid': String(process.pid),
      ...(options.idempotencyKey === undefined ? {} : { 'idempotency-key': options.idempotencyKey }),
    },
    body: JSON.stringify({ op: options.op, amount: 1 }),
    signal: options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]),
  });
  hooks.afterSend();
  const response = await pending;
  const text = await response.text();
  if (!response.ok)
    throw new ProviderError(response.status, response.headers.get('x-no-effect') === '1', text);
  const effect = JSON.parse(text) as Effect;
  hooks.afterEffect(options.key ?? options.op);
  return effect;
}

/** Lookup for reconciliation: the effects the provider holds for `op`. */
export async function findCharges(provider: string, op: string): Promise<Effect[]> {
  const response = await fetch(`${provider}/charges?op=${encodeURIComponent(op)}`, {
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) throw new Error(`lookup answered ${response.status}`);
  return ((await response.json()) as { effects: Effect[] }).effects;
}
