import diagnostics from 'node:diagnostics_channel';
import type { ChannelMessages, DiagnosticsChannelName } from './diagnostic-messages.ts';

/**
 * The short name (used in code and as the key of `channels`) of every channel in the message map; the
 * `satisfies` makes a channel added to the map without a short name a compile error.
 */
const SHORT_NAMES = {
  'retrysafe:call-start': 'callStart',
  'retrysafe:call-end': 'callEnd',
  'retrysafe:reserve': 'reserve',
  'retrysafe:replay': 'replay',
  'retrysafe:settle': 'settle',
  'retrysafe:settle-failed': 'settleFailed',
  'retrysafe:unknown': 'unknown',
  'retrysafe:reconcile': 'reconcile',
  'retrysafe:wait': 'wait',
  'retrysafe:lease-lost': 'leaseLost',
  'retrysafe:timeout': 'timeout',
  'retrysafe:late-result': 'lateResult',
  'retrysafe:rekey': 'rekey',
  'retrysafe:mismatch': 'mismatch',
  'retrysafe:refused': 'refused',
} as const satisfies Record<DiagnosticsChannelName, string>;

/** A channel's short name: `settle` for `retrysafe:settle`. */
export type ChannelName = (typeof SHORT_NAMES)[DiagnosticsChannelName];

type FullName<N extends ChannelName> = {
  [F in DiagnosticsChannelName]: (typeof SHORT_NAMES)[F] extends N ? F : never;
}[DiagnosticsChannelName];

/** The message a channel, by short name, carries: `MessageOf<'settle'>` is `SettleMessage`. */
export type MessageOf<N extends ChannelName> = ChannelMessages[FullName<N>];

/**
 * Events retrysafe publishes on `node:diagnostics_channel`, by short name, so applications can log,
 * measure and trace without the library depending on a logger or a tracer. Each channel's message is
 * typed in `ChannelMessages`; `subscribe` types the listener. `callStart` / `callEnd` bracket every
 * wrapped call (same `id`): a tracer opens a span on one and closes it on the other.
 */
export const channels = Object.freeze(
  Object.fromEntries(
    Object.entries(SHORT_NAMES).map(([full, short]) => [short, diagnostics.channel(full)]),
  ) as { readonly [N in ChannelName]: diagnostics.Channel },
);

/**
 * Subscribes to one retrysafe channel with a listener typed by its message; returns the unsubscribe.
 *
 * @example
 * ```ts
 * import { subscribe } from 'retrysafe';
 * const stop = subscribe('retrysafe:call-end', (message) => {
 *   metrics.histogram('retrysafe.call', message.durationMs, { operation: message.operation, outcome: message.outcome });
 * });
 * // later: stop();
 * ```
 */
export function subscribe<N extends DiagnosticsChannelName>(
  name: N,
  listener: (message: ChannelMessages[N], name: N) => void,
): () => void {
  // The channel only ever carries this name's message type: `publish` below is typed by it.
  const onMessage = listener as unknown as (message: unknown, name: string | symbol) => void;
  diagnostics.subscribe(name, onMessage);
  return () => {
    diagnostics.unsubscribe(name, onMessage);
  };
}

export function publish<N extends ChannelName>(name: N, message: MessageOf<N>): void {
  const target = channels[name];
  if (target.hasSubscribers) target.publish(message);
}

/**
 * Runs `fn` with `message` applied to the `AsyncLocalStorage` instances bound to the channel (a tracer's
 * active span), publishing it first. With neither subscribers nor bound stores it only runs `fn`.
 */
export function publishAround<N extends ChannelName, R>(name: N, message: MessageOf<N>, fn: () => R): R {
  return channels[name].runStores(message, fn);
}
