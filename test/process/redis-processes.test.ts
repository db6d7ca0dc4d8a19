import { randomBytes } from 'node:crypto';
import { serviceGate } from '../helpers/services.ts';
import { describeProcessSuite } from './process-suite.ts';
import { disposeStoreData } from './store-spec.ts';

describeProcessSuite({
  title: 'Redis',
  enabled: await serviceGate('Redis', 6379),
  // A key prefix of its own per test, so parallel test files and earlier runs never meet.
  newSpec: () => `redis:rs-processes-${randomBytes(4).toString('hex')}:`,
  dispose: disposeStoreData,
  race: { processes: 8, keys: 500 },
});
