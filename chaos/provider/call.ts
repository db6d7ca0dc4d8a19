import type { HttpAnswer } from '../../src/providers/index.ts';
import type { CallHooks } from '../impls/types.ts';
import type { Effect } from './protocol.ts';

/** A non-2xx answer of the provider. `noEffect`: the provider guarantees nothing was done (lenient mode). */
export class ProviderError extends Error {
  readonly status: number;
  readonly noEffect: boolean;
  /** The whole answer, for a provider profile's signals. */
  readonly answer: HttpAnswer;
  constructor(
    status: number,
    noEffect: boolean,
    body: string,
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(`provider answered ${status}: ${body.slice(0, 200)}`);
    this.name = 'ProviderError';
    this.status = status;
    this.noEffect = noEffect;
    this.answer = { status, headers, body };
  }
}

export interface ChargeOptions {
  readonly provider: string;
  readonly op: string;
  readonly caller: string;
  /** The client's own timeout; null: none (the strict modes: only the caller's signal ends a call). */
  readonly timeoutMs: number | null;
  readonly hooks: CallHooks;
  readonly idempotencyKey?: string;
  /** The header that carries `idempotencyKey`. @default 'idempotency-key' */
  readonly keyHeader?: string;
  /** A marker the strict modes' lookup finds the write by (sent in the body). */
  readonly marker?: string;
  readonly key?: string;
  readonly signal?: AbortSignal;
}

/** The request body of a charge: the same bytes for every implementation and every try of `op`. */
export function chargeBody(op: string, marker: string | undefined): string {
  return JSON.stringify(marker === undefined ? { op, amount: 1 } : { op, amount: 1, marker });
}

function signalOf(options: ChargeOptions): AbortSignal | undefined {
  const signals = [
    ...(options.timeoutMs === null ? [] : [AbortSignal.timeout(options.timeoutMs)]),
    ...(options.signal === undefined ? [] : [options.signal]),
  ];
  return signals.length <= 1 ? signals[0] : AbortSignal.any(signals);
}

/** The automation's external write: one charge for `op`. Every implementation calls exactly this. */
export async function charge(options: ChargeOptions): Promise<Effect> {
  const { hooks } = options;
  hooks.beforeCall();
  const signal = signalOf(options);
  const pending = fetch(`${options.provider}/charges`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-caller': options.caller,
      'x-worker-pid': String(process.pid),
      ...(options.idempotencyKey === undefined
        ? {}
        : { [(options.keyHeader ?? 'idempotency-key').toLowerCase()]: options.idempotencyKey }),
    },
    body: chargeBody(options.op, options.marker),
    ...(signal === undefined ? {} : { signal }),
  });
  hooks.afterSend();
  const response = await pending;
  const text = await response.text();
  if (!response.ok) {
    throw new ProviderError(
      response.status,
      response.headers.get('x-no-effect') === '1',
      text,
      Object.fromEntries(response.headers),
    );
  }
  const effect = JSON.parse(text) as Effect;
  hooks.afterEffect(options.key ?? options.op);
  return effect;
}

/** Lookup for reconciliation (lenient mode): the effects the provider holds for `op`, consistent at once. */
export async function findCharges(provider: string, op: string): Promise<Effect[]> {
  const response = await fetch(`${provider}/charges?op=${encodeURIComponent(op)}`, {
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) throw new Error(`lookup answered ${response.status}`);
  return ((await response.json()) as { effects: Effect[] }).effects;
}

/**
 * The strict modes' lookup: the writes carrying `marker`, as the provider's list or search sees them now
 * (it lags behind writes). No timeout of its own: the caller's signal ends it.
 */
export async function searchCharges(
  provider: string,
  marker: string,
  signal?: AbortSignal,
): Promise<Effect[]> {
  const response = await fetch(`${provider}/charges/search?marker=${encodeURIComponent(marker)}`, {
    ...(signal === undefined ? {} : { signal }),
  });
  if (!response.ok) throw new Error(`lookup answered ${response.status}`);
  return ((await response.json()) as { data: Effect[] }).data;
}
