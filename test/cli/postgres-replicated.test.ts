import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplicatedPostgres, type ReplicatedPostgres } from '../helpers/postgres-replicated.ts';
import { postgresClusterProblem } from '../helpers/postgres-server.ts';
import { cli, ensureBuilt, json } from './support.ts';

/**
 * `allowAsynchronousStandbys` from a CLI store address, against a real primary with an asynchronous
 * streaming standby: refused without it (naming the settings to change), accepted with it.
 */
const problem = await postgresClusterProblem();
if (problem !== undefined && process.env['CI'] !== undefined && process.env['CI'] !== '') {
  throw new Error(`CI requires private PostgreSQL clusters: ${problem}`);
}

describe.skipIf(problem !== undefined)('retrysafe CLI on a PostgreSQL primary with a standby', () => {
  let db: ReplicatedPostgres;
  const schema = `rs_cli_repl_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const run = (query: string, ...args: string[]) =>
    cli(['--store', `${db.url}?schema=${schema}${query}`, ...args]);

  beforeAll(async () => {
    await ensureBuilt();
    db = await startReplicatedPostgres({ synchronous: false });
  }, 90_000);
  afterAll(async () => {
    await db.stop();
  });

  it('refuses the asynchronous standby without the parameter; migrates and lists with allowAsynchronousStandbys=true', async () => {
    const refused = await run('', 'migrate', '--json');
    expect(refused.code, refused.stdout).toBe(2);
    const { error } = json<{ error: { code: string; message: string } }>(refused);
    expect(error.code).toBe('RS_CONFIGURATION');
    expect(error.message).toMatch(/synchronous_standby_names is empty/);
    expect(error.message).toMatch(/allowAsynchronousStandbys/);

    const migrated = await run('&allowAsynchronousStandbys=true', 'migrate', '--json');
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(json(migrated)).toMatchObject({ migrated: true });
    const listed = await run('&allowAsynchronousStandbys=true', 'ls', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    expect((await run('&allowAsynchronousStandbys=false', 'migrate')).code).toBe(2);
  });
});
