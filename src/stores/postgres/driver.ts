import { createRequire } from 'node:module';
import { ConfigurationError } from '../../errors/errors.ts';

/** What a query returns, as far as the store reads it. */
export interface PgResult {
  readonly rows: Record<string, unknown>[];
  readonly rowCount: number | null;
}

/** pg's query config; a `name` makes it a prepared statement, parsed and planned once per connection. */
export interface PgQueryConfig {
  readonly name?: string;
  readonly text: string;
  readonly values?: unknown[];
}

/** Anything that runs one SQL statement: a pool or a connected client. */
export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<PgResult>;
  query(config: PgQueryConfig): Promise<PgResult>;
}

/** A notification delivered to a client that runs `LISTEN`. */
export interface PgNotification {
  readonly channel: string;
  readonly payload?: string | undefined;
}

/** The part of a `pg` client the store uses: queries, and the events of a listening connection. */
export interface PgClient extends PgQueryable {
  on(event: 'notification', listener: (message: PgNotification) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
}

/** A client checked out of a pool. `release(true)` destroys it instead of returning it. */
export interface PgPoolClient extends PgClient {
  release(destroy?: Error | boolean): void;
}

/** A client the store connects and ends itself (the dedicated listener). */
export interface PgStandaloneClient extends PgClient {
  connect(): Promise<unknown>;
  end(): Promise<void>;
}

/**
 * The part of a `pg.Pool` the store uses, declared structurally so that `pg` is needed at run time only
 * when the store creates its own pool. A `pg.Pool` exposes its client class and options, which lets the
 * store open its listening connection beside the pool rather than hold one of the pool's connections.
 */
export interface PgPool extends PgQueryable {
  connect(): Promise<PgPoolClient>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** The `pg` module, as far as the store needs it. */
interface PgModule {
  readonly Pool: new (config: Record<string, unknown>) => PgPool;
}

type ClientConstructor = new (config: unknown) => PgStandaloneClient;

const require = createRequire(import.meta.url);

/** Loads `pg` on first use: it is an optional peer dependency. */
function loadPg(): PgModule {
  try {
    return require('pg') as PgModule;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new ConfigurationError(
      'retrysafe/postgres needs the pg package: install pg ^8.11 or pass a `pool` of your own',
    );
  }
}

/** A pool the store owns (created from a connection string and ended by `close()`). */
export function createPool(connectionString: string, max: number | undefined): PgPool {
  const { Pool } = loadPg();
  const pool = new Pool(max === undefined ? { connectionString } : { connectionString, max });
  // An idle connection that dies emits 'error' on the pool; unhandled, that would end the process.
  // The next query on it fails and reaches the caller, which is where the error belongs.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * How the listener gets its own connection: a `pg.Pool` carries its client class and options, so a
 * separate client is opened with the same settings and the pool keeps all its connections. A pool-like
 * object without them lends one of its connections instead, destroyed (never returned) when done.
 */
export async function connectListener(
  pool: PgPool,
): Promise<{ client: PgClient; close: (failed: boolean) => Promise<void> }> {
  const { Client, options } = pool as unknown as { Client?: unknown; options?: unknown };
  if (typeof Client === 'function' && typeof options === 'object' && options !== null) {
    const client = new (Client as ClientConstructor)(options);
    // Attach before connecting: a connection error must not surface as an unhandled 'error' event.
    client.on('error', () => undefined);
    const end = once(() => client.end().catch(() => undefined));
    try {
      await client.connect();
    } catch (error) {
      await end();
      throw error;
    }
    return { client, close: end };
  }
  const client = await pool.connect();
  client.on('error', () => undefined);
  // Destroyed, never returned: a connection that ran LISTEN must not serve the pool's other users.
  const release = once(() => {
    client.release(true);
    return Promise.resolve();
  });
  return { client, close: release };
}

/** `fn` runs once; later calls get the first call's promise. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
