import { ConfigurationError } from '../../errors/errors.ts';
import type { PgQueryable } from './driver.ts';

/** What the server says about its standbys and how its commits wait for them. */
export interface ReplicationSettings {
  /** `synchronous_commit` of the store's sessions. */
  readonly synchronousCommit: string;
  /** `synchronous_standby_names` (empty: every standby is asynchronous). */
  readonly synchronousStandbyNames: string;
  /** Rows of `pg_stat_replication`: standbys streaming from this server now. */
  readonly standbys: number;
  /** Of those, how many are `sync` or `quorum`; null when this role may not read `sync_state`. */
  readonly synchronousStandbys: number | null;
}

/** The levels at which a commit waits for a synchronous standby (`on` flushes it there). */
const WAITS_FOR_STANDBY = new Set(['on', 'remote_write', 'remote_apply']);

/** Reads the settings `checkReplication` judges, in one query on the store's own pool. */
export async function readReplicationSettings(pool: PgQueryable): Promise<ReplicationSettings> {
  const result = await pool.query(
    `SELECT current_setting('synchronous_commit') AS synchronous_commit,
            current_setting('synchronous_standby_names') AS synchronous_standby_names,
            (SELECT count(*) FROM pg_stat_replication) AS standbys,
            (SELECT count(*) FILTER (WHERE sync_state IN ('sync', 'quorum')) FROM pg_stat_replication) AS sync,
            (SELECT count(*) FILTER (WHERE sync_state IS NULL) FROM pg_stat_replication) AS hidden`,
  );
  const row = result.rows[0] ?? {};
  const hidden = Number(row['hidden'] ?? 0);
  return {
    synchronousCommit: text(row['synchronous_commit']),
    synchronousStandbyNames: text(row['synchronous_standby_names']).trim(),
    standbys: Number(row['standbys'] ?? 0),
    // Without pg_read_all_stats, pg_stat_replication shows the rows but not their sync_state.
    synchronousStandbys: hidden > 0 ? null : Number(row['sync'] ?? 0),
  };
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/**
 * Refuses a primary whose standbys would not have the last commits on failover: with standbys attached,
 * every commit must wait for a synchronous one (`synchronous_standby_names` set, and
 * `synchronous_commit` `on`, `remote_write` or `remote_apply`). Otherwise a promoted standby can lack
 * acknowledged reservations, and a lost reservation lets a second worker perform a write that already
 * happened. `allowAsynchronousStandbys` accepts that risk.
 */
export function judgeReplication(settings: ReplicationSettings, allowAsynchronousStandbys: boolean): void {
  if (settings.standbys === 0 || allowAsynchronousStandbys) return;
  const standbys = `${settings.standbys} standby${settings.standbys === 1 ? '' : 's'} attached`;
  const optOut =
    'Pass `allowAsynchronousStandbys: true` only if you accept that a failover can lose reservations ' +
    'and let a write happen twice.';
  if (!WAITS_FOR_STANDBY.has(settings.synchronousCommit)) {
    throw new ConfigurationError(
      `retrysafe/postgres refuses this primary: it has ${standbys} and synchronous_commit is ` +
        `'${settings.synchronousCommit}', so a commit does not wait for any standby and a failover can ` +
        "lose acknowledged reservations. Set synchronous_commit = 'on' (the default; 'remote_apply' and " +
        "'remote_write' work too) for the store's role or database, and synchronous_standby_names to " +
        `the standbys a failover may promote (for example '*' or 'ANY 1 (*)'). ${optOut}`,
    );
  }
  if (settings.synchronousStandbyNames === '' || settings.synchronousStandbys === 0) {
    const why =
      settings.synchronousStandbyNames === ''
        ? 'synchronous_standby_names is empty, so every standby is asynchronous'
        : `synchronous_standby_names is '${settings.synchronousStandbyNames}' but none of them is a ` +
          'synchronous standby now (pg_stat_replication.sync_state)';
    throw new ConfigurationError(
      `retrysafe/postgres refuses this primary: it has ${standbys} and ${why}: a commit is ` +
        'acknowledged before any standby has it, so a failover can lose reservations and let a write ' +
        "happen twice. Set synchronous_standby_names to the standbys a failover may promote (for example '*' " +
        "or 'ANY 1 (*)'; `ALTER SYSTEM SET synchronous_standby_names = '*'` then `SELECT pg_reload_conf()`) " +
        `and keep synchronous_commit at 'on', 'remote_apply' or 'remote_write'. ${optOut}`,
    );
  }
}
