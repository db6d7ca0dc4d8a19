import { ConfigurationError } from '../../errors/errors.ts';
import type { RedisClientLike } from './client.ts';

/**
 * What the operator asserts about a server whose CONFIG command is disabled (common on managed Redis):
 * it keeps an append-only file fsynced on every write (`aof-always`) or every second (`aof-everysec`).
 */
export type DurabilityAssertion = 'aof-always' | 'aof-everysec';

export interface DurabilityOptions {
  readonly allowVolatile: boolean;
  readonly durability: DurabilityAssertion | undefined;
}

/** The persistence the store found (or was told about). */
export type Durability = DurabilityAssertion | 'volatile';

const WHAT_TO_CONFIGURE =
  'Configure the server with `appendonly yes` and `appendfsync always` (every acknowledged write is on ' +
  'disk before the reply; the slowest) or `appendfsync everysec` (a power loss or OS crash can lose about ' +
  'the last second of acknowledged writes; a Redis process crash alone loses nothing). RDB snapshots ' +
  '(`save`) alone are not enough: a restart loses everything since the last snapshot. Replication does not ' +
  'replace this either: a failover can lose writes the replica had not received yet. For a throwaway ' +
  'server (tests, local development) pass `allowVolatile: true`.';

/**
 * Refuses a server that would lose reservations on restart: a lost reservation lets a second worker
 * run a write that already happened. Checks every primary of a cluster.
 */
export async function checkDurability(
  client: RedisClientLike,
  options: DurabilityOptions,
): Promise<Durability> {
  let nodes: readonly Readonly<Record<string, string>>[];
  try {
    nodes = await client.configGet(['appendonly', 'appendfsync']);
  } catch (error) {
    if (!isConfigRefusal(error)) throw error;
    if (options.durability !== undefined) return options.durability;
    if (options.allowVolatile) return 'volatile';
    throw new ConfigurationError(
      `retrysafe/redis could not read the server's persistence settings: CONFIG GET was refused ` +
        `(${(error as Error).message.trim()}), as it is on many managed Redis services. It will not guess. ` +
        "Confirm with your provider that the server keeps an append-only file, then pass `durability: 'aof-always'` " +
        "or `durability: 'aof-everysec'` to say so. " +
        WHAT_TO_CONFIGURE,
    );
  }
  let weakest: Durability = 'aof-always';
  for (const node of nodes) {
    const appendonly = node['appendonly'];
    const appendfsync = node['appendfsync'];
    if (appendonly !== 'yes' || (appendfsync !== 'always' && appendfsync !== 'everysec')) {
      if (options.allowVolatile) return 'volatile';
      const found =
        appendonly !== 'yes'
          ? `appendonly ${appendonly ?? '(not reported)'}: it keeps no append-only file, so a restart loses every reservation`
          : `appendfsync ${appendfsync ?? '(not reported)'}: it leaves flushing the append-only file to the OS, which can lose ` +
            'many seconds of acknowledged writes on an OS crash';
      throw new ConfigurationError(
        `retrysafe/redis refuses this Redis server (${found}), and a lost reservation can turn into a ` +
          `duplicate write. ${WHAT_TO_CONFIGURE}`,
      );
    }
    if (appendfsync === 'everysec') weakest = 'aof-everysec';
  }
  return weakest;
}

/** An error reply to CONFIG itself (disabled, renamed, not permitted), as opposed to a connection failure. */
function isConfigRefusal(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'ReplyError' ||
    /unknown command|NOPERM|no permissions?|not allowed|disabled|unknown subcommand/i.test(error.message)
  );
}
