import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/errors/errors.ts';
import { retrysafe } from '../../src/index.ts';
import { postgresStore, type PostgresStore } from '../../src/stores/postgres/index.ts';
import { judgeReplication } from '../../src/stores/postgres/replication.ts';
import type { BeginRequest } from '../../src/stores/types.ts';
import {
  queryOnce,
  startReplicatedPostgres,
  type ReplicatedPostgres,
} from '../helpers/postgres-replicated.ts';
import { postgresClusterProblem } from '../helpers/postgres-server.ts';

const HOUR_MS = 3_600_000;
const problem = await postgresClusterProblem();
if (problem !== undefined && process.env['CI'] !== undefined && process.env['CI'] !== '') {
  throw new Error(`CI requires private PostgreSQL clusters: ${problem}`);
}

function beginRequest(key: string): BeginRequest {
  return {
    key,
    operation: 'replicated@1',
    fingerprint: 'sha256:aa',
    retryFailed: false,
    token: randomUUID(),
    leaseMs: HOUR_MS,
  };
}

/** `url` with a session setting for every connection (libpq `options`). */
function withSetting(url: string, name: string, value: string): string {
  return `${url}?options=${encodeURIComponent(`-c ${name}=${value}`)}`;
}

describe('judgeReplication', () => {
  const base = {
    synchronousCommit: 'on',
    synchronousStandbyNames: '*',
    standbys: 1,
    synchronousStandbys: 1,
  };
  it('accepts no standbys, a synchronous standby at on, remote_write or remote_apply', () => {
    expect(() => {
      judgeReplication({ ...base, standbys: 0, synchronousStandbyNames: '' }, false);
    }).not.toThrow();
    for (const level of ['on', 'remote_write', 'remote_apply']) {
      expect(() => {
        judgeReplication({ ...base, synchronousCommit: level }, false);
      }).not.toThrow();
    }
  });
  it('refuses synchronous_commit local or off, and a named standby that is not synchronous', () => {
    for (const level of ['local', 'off']) {
      expect(() => {
        judgeReplication({ ...base, synchronousCommit: level }, false);
      }).toThrow(/synchronous_commit is '(local|off)'/);
    }
    expect(() => {
      judgeReplication({ ...base, synchronousStandbyNames: 'other', synchronousStandbys: 0 }, false);
    }).toThrow(/none of them is a synchronous standby/);
  });
  it('trusts synchronous_standby_names when this role may not read sync_state', () => {
    expect(() => {
      judgeReplication({ ...base, synchronousStandbys: null }, false);
    }).not.toThrow();
  });
});

describe.skipIf(problem !== undefined)('postgres store with a streaming standby', () => {
  let db: ReplicatedPostgres;
  const stores: PostgresStore[] = [];
  const open = (url: string, allowAsynchronousStandbys = false): PostgresStore => {
    const store = postgresStore({
      connectionString: url,
      schema: `repl_${randomUUID().replaceAll('-', '').slice(0, 12)}`,
      max: 2,
      allowAsynchronousStandbys,
    });
    stores.push(store);
    return store;
  };
  const setSystem = async (name: string, value: string): Promise<void> => {
    await queryOnce(db.primary.url, `ALTER SYSTEM SET ${name} = '${value}'`);
    await queryOnce(db.primary.url, 'SELECT pg_reload_conf()');
    // The reload reaches the walsender and backends asynchronously.
    await sleep(300);
  };

  beforeAll(async () => {
    db = await startReplicatedPostgres({ synchronous: false });
  }, 60_000);
  afterAll(async () => {
    for (const store of stores) await store.close().catch(() => undefined);
    await db.stop();
  });

  it('refuses an asynchronous standby at migrate, naming the settings and the opt-out', async () => {
    const error: unknown = await open(db.url)
      .migrate()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/1 standby attached and synchronous_standby_names is empty/);
    expect((error as Error).message).toMatch(/synchronous_standby_names = '\*'/);
    expect((error as Error).message).toMatch(/allowAsynchronousStandbys: true/);
    await expect(open(db.url, true).migrate()).resolves.toBeUndefined();
  });

  it('accepts a synchronous standby at on, remote_write and remote_apply; refuses synchronous_commit local', async () => {
    await setSystem('synchronous_standby_names', '*');
    try {
      await expect(open(db.url).migrate()).resolves.toBeUndefined();
      for (const level of ['remote_write', 'remote_apply']) {
        await expect(
          open(withSetting(db.url, 'synchronous_commit', level)).migrate(),
        ).resolves.toBeUndefined();
      }
      const error: unknown = await open(withSetting(db.url, 'synchronous_commit', 'local'))
        .migrate()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toMatch(/synchronous_commit is 'local'/);
    } finally {
      await setSystem('synchronous_standby_names', '');
    }
  });

  it('with a synchronous standby and the link cut, the provider is not called until the standby has the reservation', async () => {
    await setSystem('synchronous_standby_names', '*');
    const store = open(db.url);
    await store.migrate();
    const rs = retrysafe({ store, namespace: 'repl', migrate: false });
    let calls = 0;
    const charge = rs.operation<{ id: string }, string>({
      name: 'charge',
      version: 1,
      key: (input) => ({ id: input.id }),
      payload: (input) => input,
      call: () => {
        calls++;
        return Promise.resolve('charged');
      },
    });
    db.link.cut();
    let settled = false;
    const running = charge({ id: randomUUID() }).finally(() => {
      settled = true;
    });
    try {
      await sleep(1_000);
      // The reservation's commit waits for the standby: nothing is sent meanwhile.
      expect(calls).toBe(0);
      expect(settled).toBe(false);
    } finally {
      db.link.restore();
    }
    await expect(running).resolves.toMatchObject({ value: 'charged', replayed: false });
    expect(calls).toBe(1);
    await setSystem('synchronous_standby_names', '');
  }, 30_000);
});

describe.skipIf(problem !== undefined)('postgres failover', () => {
  it('keeps a synchronously committed reservation; one committed locally only is lost', async () => {
    const db = await startReplicatedPostgres({ synchronous: true });
    const stores: PostgresStore[] = [];
    try {
      const open = (url: string, allow: boolean): PostgresStore => {
        const store = postgresStore({
          connectionString: url,
          schema: 'failover',
          max: 2,
          allowAsynchronousStandbys: allow,
        });
        stores.push(store);
        return store;
      };
      const protectedStore = open(db.url, false);
      await protectedStore.migrate();
      // The same tables, through sessions whose commits do not wait for the standby.
      const unprotected = open(withSetting(db.url, 'synchronous_commit', 'local'), true);
      await unprotected.migrate();

      const kept = `kept-${randomUUID()}`;
      expect((await protectedStore.begin(beginRequest(kept))).reserved).toBe(true);
      db.link.cut();
      const lost = `lost-${randomUUID()}`;
      expect((await unprotected.begin(beginRequest(lost))).reserved).toBe(true);
      await db.failover();

      const after = open(db.url, false);
      await after.migrate();
      expect((await after.get(kept))?.state).toBe('in_flight');
      expect(await after.get(lost)).toBeUndefined();
    } finally {
      for (const store of stores) await store.close().catch(() => undefined);
      await db.stop();
    }
  }, 90_000);
});
