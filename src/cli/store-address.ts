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
    }
  | { readonly kind: 'redis'; readonly url: string; readonly keyPrefix?: string };

/**
 * Parses a store address:
 * - `sqlite:./path.db` (also `sqlite://./path.db`, `sqlite:///abs/path.db`), optional `?prefix=<table prefix>`;
 * - `postgres://user@host:5432/db` or `postgresql://…`, optional `?schema=<schema>&prefix=<table prefix>`;
 * - `redis://host:6379/0` or `rediss://…`, optional `?prefix=<key prefix>`.
 * The retrysafe parameters are taken out before the rest is handed to the driver.
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
    const schema = url.searchParams.get('schema');
    const prefix = url.searchParams.get('prefix');
    url.searchParams.delete('schema');
    url.searchParams.delete('prefix');
    const base = { kind: 'postgres' as const, connectionString: url.toString() };
    return withOptional(withOptional(base, 'schema', schema), 'tablePrefix', prefix);
  }
  if (url.protocol === 'redis:' || url.protocol === 'rediss:') {
    const prefix = url.searchParams.get('prefix');
    url.searchParams.delete('prefix');
    return withOptional({ kind: 'redis', url: url.toString() }, 'keyPrefix', prefix);
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
