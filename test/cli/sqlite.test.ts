import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sqliteStore } from '../../src/stores/sqlite/index.ts';
import { storeCommandSuite } from './store-suite.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'retrysafe-cli-sqlite-'));
const file = path.join(dir, 'store.db');

storeCommandSuite({
  name: 'sqlite',
  address: () => `sqlite:${file}`,
  open: () => Promise.resolve(sqliteStore({ path: file })),
  cleanup: () => {
    rmSync(dir, { recursive: true, force: true });
    return Promise.resolve();
  },
});
