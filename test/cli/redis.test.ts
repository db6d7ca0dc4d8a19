import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe } from 'vitest';
import { redisStore } from '../../src/stores/redis/index.ts';
import { serviceGate } from '../helpers/services.ts';
import { storeCommandSuite } from './store-suite.ts';

const available = await serviceGate('Redis', 6379);
const URL_BASE = 'redis://127.0.0.1:6379';
/** Everything this file writes lives under this prefix and is removed afterwards. */
const prefix = `rs-test-cli:${randomUUID()}:`;

describe.runIf(available)('redis', () => {
  storeCommandSuite({
    name: 'redis',
    address: () => `${URL_BASE}?prefix=${encodeURIComponent(prefix)}`,
    extraArgs: ['--allow-volatile'],
    open: () => Promise.resolve(redisStore({ url: URL_BASE, keyPrefix: prefix, allowVolatile: true })),
    cleanup: async () => {
      const client = new Redis(URL_BASE);
      try {
        let cursor = '0';
        do {
          const [next, found] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (found.length > 0) await client.unlink(...found);
        } while (cursor !== '0');
      } finally {
        await client.quit();
      }
    },
  });
});
