import { isCredentialParameter } from '../integrations/credentials.ts';
import { UsageError } from './args.ts';

/** A parsed `--store` / `RETRYSAFE_STORE` value. */
export type StoreAddress =
  | { readonly kind: 'sqlite'; readonly path: string; readonly tablePrefix?: string }
  | {
      readonly kind: 'postgres';
      readonly connectionString: string;
      readonly schema?: string;
      readonly tablePrefix?: string;
      /** `postgresStore({ allowAsynchronousStandbys })`. */
      readonly allowAsynchronousStandbys?: boolean;
    }
  | {
      readonly kind: 'redis';
      readonly url: string;
      readonly keyPrefix?: string;
      /** `redisStore({ replicaAcks })`. */
      readonly replicaAcks?: number;
      /** `redisStore({ replicaAckTimeoutMs })`. */
      readonly replicaAckTimeoutMs?: number;
      /** `redisStore({ allowUnacknowledgedReplicas })`. */
      readonly allowUnacknowledgedReplicas?: boolean;
    };

/**
 * Parses a store address:
 * - `sqlite:./path.db` (also `sqlite://./path.db`, `sqlite:///abs/path.db`), optional `?prefix=<table prefix>`;
 * - `postgres://user@host:5432/db` or `postgresql://…`, optional `?schema=<schema>&prefix=<table prefix>`
 *   and `allowAsynchronousStandbys=true`;
 * - `redis://host:6379/0` or `rediss://…`, optional `?prefix=<key prefix>`, `replicaAcks=<n>`,
 *   `replicaAckTimeoutMs=<ms>` and `allowUnacknowledgedReplicas=true`.
 * The retrysafe parameters (named as the store options they set) are taken out before the rest is
 * handed to the driver.
 *
 * @example
 * ```ts
 * parseStoreAddress('redis://h:6379?prefix=app:&replicaAcks=1')
 * // { kind: 'redis', url: 'redis://h:6379', keyPrefix: 'app:', replicaAcks: 1 }
 * ```
 */
export function parseStoreAddress(text: string): StoreAddress {
  const trimmed = text.trim();
  if (trimmed.startsWith('sqlite:')) {
    let rest = trimmed.slice('sqlite:'.length);
    if (rest.startsWith('//')) rest = rest.slice(2);
    const query = rest.lastIndexOf('?');
    const params = new URLSearchParams(query === -1 ? '' : rest.slice(query + 1));
    const path = query === -1 ? rest : rest.slice(0, query);
    if (path === '')
      throw new UsageError('sqlite: store address needs a file path, e.g. sqlite:./retrysafe.db');
    known(params, ['prefix'], 'sqlite');
    return withOptional({ kind: 'sqlite', path }, 'tablePrefix', params.get('prefix'));
  }
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new UsageError(
      `unrecognised store address ${JSON.stringify(text)}: use sqlite:PATH, postgres://… or redis://…`,
    );
  }
  if (url.protocol === 'postgres:' || url.protocol === 'postgresql:') {
    const schema = take(url, 'schema');
    const prefix = take(url, 'prefix');
    const allowAsynchronousStandbys = booleanParameter(url, 'allowAsynchronousStandbys');
    const base = {
      kind: 'postgres' as const,
      connectionString: url.toString(),
      ...(allowAsynchronousStandbys === undefined ? {} : { allowAsynchronousStandbys }),
    };
    return withOptional(withOptional(base, 'schema', schema), 'tablePrefix', prefix);
  }
  if (url.protocol === 'redis:' || url.protocol === 'rediss:') {
    const prefix = take(url, 'prefix');
    const replicaAcks = integerParameter(url, 'replicaAcks', 0);
    const replicaAckTimeoutMs = integerParameter(url, 'replicaAckTimeoutMs', 1);
    const allowUnacknowledgedReplicas = booleanParameter(url, 'allowUnacknowledgedReplicas');
    const base = {
      kind: 'redis' as const,
      url: url.toString(),
      ...(replicaAcks === undefined ? {} : { replicaAcks }),
      ...(replicaAckTimeoutMs === undefined ? {} : { replicaAckTimeoutMs }),
      ...(allowUnacknowledgedReplicas === undefined ? {} : { allowUnacknowledgedReplicas }),
    };
    return withOptional(base, 'keyPrefix', prefix);
  }
  throw new UsageError(
    `unsupported store ${JSON.stringify(url.protocol.replace(/:$/, ''))}: use sqlite:PATH, postgres://… or redis://…`,
  );
}

/** Query parameters of a store address that carry secrets, besides the credential names integrations refuse. */
const SECRET_ADDRESS_PARAMETERS = new Set(['sslpassword', 'pass', 'user_password']);

/**
 * The address without credentials, for messages and `--json` output: the password masked, a lone user
 * name masked too (some clients read it as a password or token), and every credential-looking query
 * parameter (`?password=`, `?token=`, `?sslpassword=`) masked.
 */
export function describeAddress(address: StoreAddress): string {
  switch (address.kind) {
    case 'sqlite':
      return `sqlite:${address.path}`;
    case 'postgres':
    case 'redis': {
      const url = new URL(address.kind === 'postgres' ? address.connectionString : address.url);
      if (url.password !== '') url.password = '***';
      else if (url.username !== '') url.username = '***';
      for (const name of new Set(url.searchParams.keys())) {
        if (isCredentialParameter(name) || SECRET_ADDRESS_PARAMETERS.has(name.toLowerCase())) {
          url.searchParams.set(name, '***');
        }
      }
      return url.toString();
    }
  }
}

/** Takes a retrysafe parameter out of the URL (the driver never sees it); null when absent. */
function take(url: URL, name: string): string | null {
  const values = url.searchParams.getAll(name);
  url.searchParams.delete(name);
  if (values.length > 1) throw new UsageError(`store parameter ${name} is given ${values.length} times`);
  return values[0] ?? null;
}

function booleanParameter(url: URL, name: string): boolean | undefined {
  const value = take(url, name);
  if (value === null) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new UsageError(`store parameter ${name} must be true or false, got ${JSON.stringify(value)}`);
}

function integerParameter(url: URL, name: string, min: number): number | undefined {
  const value = take(url, name);
  if (value === null) return undefined;
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min) {
    throw new UsageError(
      `store parameter ${name} must be a whole number >= ${min}, got ${JSON.stringify(value)}`,
    );
  }
  return number;
}

function known(params: URLSearchParams, allowed: readonly string[], kind: string): void {
  for (const name of params.keys()) {
    if (!allowed.includes(name))
      throw new UsageError(`unknown ${kind} store parameter ${JSON.stringify(name)}`);
  }
}

function withOptional<T extends object, K extends string>(
  base: T,
  name: K,
  value: string | null,
): T & { [P in K]?: string } {
  return value === null || value === '' ? base : { ...base, [name]: value };
}
