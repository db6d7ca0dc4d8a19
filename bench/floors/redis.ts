import { Redis } from 'ioredis';
import { deleteByPrefix } from '../lib/stores.ts';
import type { Floor } from './floor.ts';

/** Reserve: SET NX with a lease. */
const RESERVE = `return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])`;
/** Record: only while the key still holds our token (the fence), then keep the result with a TTL. */
const RECORD = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return false`;

/** Replay: one read. */
const READ = `return redis.call('GET', KEYS[1])`;

/** The floor on Redis: two EVALSHA of minimal scripts, through ioredis like the store, on the same server. */
export async function redisFloor(url: string, prefix: string): Promise<Floor> {
  const redis = new Redis(url);
  redis.on('error', () => undefined);
  const reserveSha = (await redis.script('LOAD', RESERVE)) as string;
  const recordSha = (await redis.script('LOAD', RECORD)) as string;
  const readSha = (await redis.script('LOAD', READ)) as string;
  const token = 'floor-token';
  return {
    description: 'EVALSHA of a SET NX PX script; EVALSHA of a fenced SET script (2 round trips)',
    roundTrips: 2,
    op: async (key, result) => {
      const name = `${prefix}floor:${key}`;
      if ((await redis.evalsha(reserveSha, 1, name, token, 30_000)) !== 'OK') {
        throw new Error('floor: key already reserved');
      }
      if ((await redis.evalsha(recordSha, 1, name, token, result, 604_800_000)) !== 'OK') {
        throw new Error('floor: record refused');
      }
    },
    read: async (key) => {
      const result: unknown = await redis.evalsha(readSha, 1, `${prefix}floor:${key}`);
      if (typeof result !== 'string') throw new Error('floor: no result recorded');
      return result;
    },
    close: async () => {
      await deleteByPrefix(redis, `${prefix}floor:`);
      await redis.quit().catch(() => undefined);
    },
  };
}
