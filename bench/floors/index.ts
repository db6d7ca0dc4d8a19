import type { Location } from '../lib/stores.ts';
import type { Floor } from './floor.ts';
import { postgresFloor } from './postgres.ts';
import { redisFloor } from './redis.ts';
import { sqliteFloor } from './sqlite.ts';

export type { Floor } from './floor.ts';

/** The floor beside the store at `location`: same file directory, database or server, same driver. */
export async function openFloor(location: Location): Promise<Floor> {
  switch (location.kind) {
    case 'sqlite':
      return sqliteFloor(location.path.replace(/\.db$/, '-floor.db'));
    case 'postgres':
      return postgresFloor(location.url, location.schema);
    case 'redis':
      return redisFloor(location.url, location.prefix);
  }
}
