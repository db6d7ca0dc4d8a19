import { addressUrl, maskedUrl, takeBoolean, takeInteger, takeParameter } from '../address.ts';
import type { StoreAddress, StoreKind } from '../registry.ts';

/** `redis://…?prefix=P` parsed: the `redisStore` options it names. */
export interface RedisAddress extends StoreAddress {
  readonly kind: 'redis';
  /** The address without retrysafe's parameters: what `ioredis` is given. */
  readonly url: string;
  readonly keyPrefix?: string;
  /** `redisStore({ replicaAcks })`. */
  readonly replicaAcks?: number;
  /** `redisStore({ replicaAckTimeoutMs })`. */
  readonly replicaAckTimeoutMs?: number;
  /** `redisStore({ allowUnacknowledgedReplicas })`. */
  readonly allowUnacknowledgedReplicas?: boolean;
}

/**
 * `redis://host:6379/0` or `rediss://…`, optional `?prefix=<key prefix>`, `replicaAcks=<n>`,
 * `replicaAckTimeoutMs=<ms>` and `allowUnacknowledgedReplicas=true`.
 */
export const redisAddresses: StoreKind<RedisAddress> = {
  kind: 'redis',
  schemes: ['redis', 'rediss'],
  parse(text) {
    const url = addressUrl(text);
    const prefix = takeParameter(url, 'prefix');
    const replicaAcks = takeInteger(url, 'replicaAcks', 0);
    const replicaAckTimeoutMs = takeInteger(url, 'replicaAckTimeoutMs', 1);
    const allowUnacknowledgedReplicas = takeBoolean(url, 'allowUnacknowledgedReplicas');
    return {
      kind: 'redis',
      url: url.toString(),
      ...(prefix === undefined ? {} : { keyPrefix: prefix }),
      ...(replicaAcks === undefined ? {} : { replicaAcks }),
      ...(replicaAckTimeoutMs === undefined ? {} : { replicaAckTimeoutMs }),
      ...(allowUnacknowledgedReplicas === undefined ? {} : { allowUnacknowledgedReplicas }),
    };
  },
  describe: (address) => maskedUrl(address.url),
  async open(address, context) {
    const { redisStore } = await import('./index.ts');
    return redisStore({
      url: address.url,
      allowVolatile: context.allowVolatile === true,
      ...(address.keyPrefix === undefined ? {} : { keyPrefix: address.keyPrefix }),
      ...(address.replicaAcks === undefined ? {} : { replicaAcks: address.replicaAcks }),
      ...(address.replicaAckTimeoutMs === undefined
        ? {}
        : { replicaAckTimeoutMs: address.replicaAckTimeoutMs }),
      ...(address.allowUnacknowledgedReplicas === undefined
        ? {}
        : { allowUnacknowledgedReplicas: address.allowUnacknowledgedReplicas }),
    });
  },
};
