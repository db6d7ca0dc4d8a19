/**
 * A store wrote a transition on its primary, but too few replicas confirmed it in time: a failover now
 * could lose it. A store failure, never a success: before the call nothing is sent (the executor fails
 * closed); after the call the caller is told the outcome could not be recorded durably, and the record
 * is reconciled later instead of trusted.
 *
 * The write is already applied on the primary, so running the same transition again would be refused
 * as a stale write: the executor does not retry it.
 */
export class ReplicaAcknowledgementError extends Error {
  override readonly name = 'ReplicaAcknowledgementError';
  readonly required: number;
  readonly acknowledged: number;

  constructor(message: string, counts: { readonly required: number; readonly acknowledged: number }) {
    super(message);
    this.required = counts.required;
    this.acknowledged = counts.acknowledged;
  }
}
