import { addressUrl, maskedUrl, takeParameters } from '../address.ts';
import type { StoreAddress, StoreKind } from '../registry.ts';

/** `redis://…?prefix=P` parsed: the `redisStore` options it names. */
export interface RedisAddress extends StoreAddress {
  readonly kind: 'redis';
  /** The address without retrysafe's parameters: what `ioredis` is given. */
  readonly url: string;
  readonly keyPrefix?: string;
}

/** `redis://host:6379/0` or `rediss://…`, optional `?prefix=<key prefix>`. */
export const redisAddresses: StoreKind<RedisAddress> = {
  kind: 'redis',
  schemes: ['redis', 'rediss'],
  parse(text) {
    const url = addressUrl(text);
    const { prefix } = takeParameters(url, ['prefix']);
    return {
      kind: 'redis',
      url: url.toString(),
      ...(prefix === undefined ? {} : { keyPrefix: prefix }),
    };
  },
  describe: (address) => maskedUrl(address.url),
  async open(address, context) {
    const { redisStore } = await import('./index.ts');
    return redisStore({
      url: address.url,
      allowVolatile: context.allowVolatile === true,
      ...(address.keyPrefix === undefined ? {} : { keyPrefix: address.keyPrefix }),
    });
  },
};
