import { postgresClusterProblem, startPostgresCluster } from '../helpers/postgres-server.ts';
import { describeOutageSuite, toolGate, type OutageServer } from './outage-suite.ts';

// Its own cluster: the shared server on 5432 serves other test files at the same time and stays up.
describeOutageSuite({
  title: 'PostgreSQL',
  crash: 'pg_ctl stop -m immediate',
  enabled: toolGate('the PostgreSQL outage test', await postgresClusterProblem()),
  start: async (): Promise<OutageServer> => {
    const cluster = await startPostgresCluster();
    return {
      spec: `postgres:rs_outage@${cluster.port}`,
      crash: () => cluster.crash(),
      restart: () => cluster.start(),
      dispose: () => cluster.destroy(),
    };
  },
});
