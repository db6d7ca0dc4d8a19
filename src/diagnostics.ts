import diagnostics from 'node:diagnostics_channel';

/**
 * Events retrysafe publishes on `node:diagnostics_channel`, so applications can log and measure
 * without the library depending on a logger. Subscribe with
 * `diagnostics_channel.subscribe('retrysafe:settle', (message) => ...)`.
 */
export const channels = {
  /** `{ key, operation, attempt, generation }`: this process now holds the key. */
  reserve: diagnostics.channel('retrysafe:reserve'),
  /** `{ key, operation, state, attempt }`: a stored outcome was returned (or a tombstone hit). */
  replay: diagnostics.channel('retrysafe:replay'),
  /** `{ key, operation, attempt, state, durationMs }`: the holder recorded its outcome. */
  settle: diagnostics.channel('retrysafe:settle'),
  /** `{ key, operation, attempt, error }`: the holder could not record; the lease will lapse to unknown. */
  settleFailed: diagnostics.channel('retrysafe:settle-failed'),
  /** `{ key, operation, attempt, reason }`: an outcome could not be established. */
  unknown: diagnostics.channel('retrysafe:unknown'),
  /** `{ key, operation, attempt, answer }`: a lookup answered `found`, `absent` or `unknown`. */
  reconcile: diagnostics.channel('retrysafe:reconcile'),
  /** `{ key, operation, attempt, leaseUntil }`: waiting for another attempt's result. */
  wait: diagnostics.channel('retrysafe:wait'),
  /** `{ key, operation, attempt }`: this attempt's claim was taken over or could not be renewed. */
  leaseLost: diagnostics.channel('retrysafe:lease-lost'),
  /** `{ key, operation, attempt, timeoutMs }`: the attempt passed its deadline; its signal was aborted. */
  timeout: diagnostics.channel('retrysafe:timeout'),
  /** `{ key, operation, attempt, kept }`: a call ended after its deadline; its result went to the audit log. */
  lateResult: diagnostics.channel('retrysafe:late-result'),
  /** `{ key, operation, attempt, fromGeneration, toGeneration }`: a burned provider key was replaced. */
  rekey: diagnostics.channel('retrysafe:rekey'),
  /** `{ key, operation, fingerprint, stored }`: a different payload was refused. */
  mismatch: diagnostics.channel('retrysafe:mismatch'),
  /**
   * `{ key, operation, attempt, fingerprint }`: a stored request no longer matches its fingerprint (it
   * was changed in the store); reconciliation refuses to re-send it or look it up.
   */
  refused: diagnostics.channel('retrysafe:refused'),
} as const;

export type ChannelName = keyof typeof channels;

export function publish(name: ChannelName, message: object): void {
  const channel = channels[name];
  if (channel.hasSubscribers) channel.publish(message);
}
