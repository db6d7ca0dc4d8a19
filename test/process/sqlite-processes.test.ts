import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeProcessSuite } from './process-suite.ts';
import type { StoreSpec } from './store-spec.ts';

const dirs = new Map<StoreSpec, string>();

describeProcessSuite({
  title: 'SQLite',
  enabled: true,
  newSpec: () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'retrysafe-processes-'));
    const spec: StoreSpec = `sqlite:${path.join(dir, 'store.db')}`;
    dirs.set(spec, dir);
    return spec;
  },
  dispose: (spec) => {
    const dir = dirs.get(spec);
    dirs.delete(spec);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    return Promise.resolve();
  },
  race: { processes: 8, keys: 200 },
});
