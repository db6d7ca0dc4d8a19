import { ConfigurationError } from '../../errors/errors.ts';
import { ReplicaAcknowledgementError } from '../replica-acknowledgement.ts';
import type { RedisClientLike } from './client.ts';

/**
 * How the store makes a transition survive a failover: after every write a later decision depends on,
 * `WAIT replicas timeoutMs` in the same round trip as the script.
 */
export interface ReplicaAcks {
  /** Replicas that must hold a transition before it counts (0: do not wait). */
  readonly replicas: number;
  /** How long one transition waits for them; a shortfall is a store failure. */
  readonly timeoutMs: number;
}

export interface ReplicationOptions {
  readonly acks: ReplicaAcks;
  /** Accept a primary with replicas although no acknowledgement is asked for (`allowUnacknowledgedReplicas`). */
  readonly allowUnacknowledged: boolean;
}

/** What `INFO replication` says about one server. */
export interface ReplicationInfo {
  readonly role: string;
  /** Replicas connected to this primary (`connected_slaves`). */
  readonly connectedReplicas: number;
}

/** Parses the text of `INFO replication` (`name:value` lines). */
export function parseReplicationInfo(text: string): ReplicationInfo {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  const role = fields.get('role');
  const connected = Number(fields.get('connected_slaves') ?? 'NaN');
  if (role === undefined || (role === 'master' && !Number.isSafeInteger(connected))) {
    throw new TypeError(`unexpected INFO replication reply: ${JSON.stringify(text.slice(0, 200))}`);
  }
  return { role, connectedReplicas: role === 'master' ? connected : 0 };
}

const WHAT_TO_CONFIGURE =
  'Pass `replicaAcks: <n>` (with `replicaAckTimeoutMs`) so that every reservation and outcome is on n ' +
  'replicas before it counts (Redis `WAIT`); Sentinel and Cluster promote the most up-to-date replica, ' +
  'so with n = 1 a failover keeps every acknowledged transition as long as one replica that holds it ' +
  'survives. Pass `allowUnacknowledgedReplicas: true` only if you accept that a failover can lose ' +
  'reservations and let a write happen twice.';

/**
 * Refuses a primary that has replicas when the store is not told to wait for any: replication is
 * asynchronous, so the replica a failover promotes may lack the last reservations, and a lost
 * reservation lets a second worker perform a write that already happened. Checks every primary.
 */
export async function checkReplication(client: RedisClientLike, options: ReplicationOptions): Promise<void> {
  if (options.acks.replicas > 0 || options.allowUnacknowledged) {
    if (options.acks.replicas > 0 && client.evalshaThenWait === undefined) {
      throw new ConfigurationError(
        '`replicaAcks` needs a client that can pipeline EVALSHA and WAIT (`evalshaThenWait` of ' +
          'RedisClientLike); ioredis clients have it',
      );
    }
    return;
  }
  if (client.info === undefined) {
    throw new ConfigurationError(
      'retrysafe/redis cannot read the replication topology: the client has no `info` (RedisClientLike). ' +
        'It will not guess whether the server has replicas. ' +
        WHAT_TO_CONFIGURE,
    );
  }
  let replies: readonly string[];
  try {
    replies = await client.info('replication');
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'ReplyError') throw error;
    throw new ConfigurationError(
      `retrysafe/redis could not read the replication topology: INFO replication was refused ` +
        `(${error.message.trim()}). It will not guess whether the server has replicas. ${WHAT_TO_CONFIGURE}`,
    );
  }
  for (const reply of replies) {
    const info = parseReplicationInfo(reply);
    if (info.role === 'master' && info.connectedReplicas > 0) {
      throw new ConfigurationError(
        `retrysafe/redis refuses this primary: it has ${info.connectedReplicas} connected ` +
          `replica${info.connectedReplicas === 1 ? '' : 's'} and the store is not told to wait for any ` +
          '(`replicaAcks` is 0). Redis replicates asynchronously: a failover can promote a replica that ' +
          'lacks the last reservations, and a lost reservation can turn into a duplicate write. ' +
          WHAT_TO_CONFIGURE,
      );
    }
  }
}

/**
 * The outcome of one script followed by `WAIT`: the script's reply, or the shortfall as an error when
 * the script wrote something a later decision depends on (`wrote`).
 */
export function acknowledged(
  what: string,
  wrote: boolean,
  acks: ReplicaAcks,
  replicasAcked: number,
): ReplicaAcknowledgementError | undefined {
  if (!wrote || replicasAcked >= acks.replicas) return undefined;
  return new ReplicaAcknowledgementError(
    `${what} was written on the Redis primary but only ${replicasAcked} of ${acks.replicas} ` +
      `replica${acks.replicas === 1 ? '' : 's'} acknowledged it within ${acks.timeoutMs} ms; a failover ` +
      'now could lose it',
    { required: acks.replicas, acknowledged: replicasAcked },
  );
}
