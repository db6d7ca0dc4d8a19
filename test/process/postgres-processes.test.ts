import { randomBytes } from 'node:crypto';
import { serviceGate } from '../helpers/services.ts';
import { describeProcessSuite } from './process-suite.ts';
import { disposeStoreData } from './store-spec.ts';

describeProcessSuite({
  title: 'PostgreSQL',
  enabled: await serviceGate('PostgreSQL', 5432),
  // A schema of its own per test, so parallel test files and earlier runs never meet.
  newSpec: () => `postgres:rs_processes_${randomBytes(4).toString('hex')}`,
  dispose: disposeStoreData,
  race: { processes: 8, keys: 500 },
});
