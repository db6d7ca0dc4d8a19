import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { describe } from 'vitest';
import { postgresStore } from '../../src/stores/postgres/index.ts';
import { serviceGate } from '../helpers/services.ts';
import { storeCommandSuite } from './store-suite.ts';

const available = await serviceGate('PostgreSQL', 5432);
const URL_BASE = 'postgres://postgres@127.0.0.1:5432/test';
/** This file's own schema, dropped afterwards. */
const schema = `rs_cli_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

describe.runIf(available)('postgres', () => {
  storeCommandSuite({
    name: 'postgres',
    address: () => `${URL_BASE}?schema=${schema}`,
    open: () => Promise.resolve(postgresStore({ connectionString: URL_BASE, schema, max: 2 })),
    cleanup: async () => {
      const client = new pg.Client({ connectionString: URL_BASE });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  });
});
