import { createHash } from 'node:crypto';
import { ConfigurationError } from '../../errors/errors.ts';

/** Plain lower-case SQL identifiers: safe to put between double quotes and in a channel name. */
const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;
const PREFIX = /^(?:[a-z_][a-z0-9_]{0,31})?$/;
/** PostgreSQL truncates identifiers (and refuses channel names) past 63 bytes. */
const MAX_IDENTIFIER = 63;

/** Every name the store puts into SQL, derived once from the validated `schema` and `tablePrefix`. */
export interface Names {
  readonly schema: string;
  readonly prefix: string;
  /** Quoted, schema-qualified table names. */
  readonly records: string;
  readonly audit: string;
  readonly overrides: string;
  readonly versions: string;
  /** The LISTEN/NOTIFY channel the records table notifies on (unquoted). */
  readonly channel: string;
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Validates the schema and table prefix and derives the table and channel names. Only lower-case
 * letters, digits and `_` are accepted, so a name can never break out of its quotes in the migration
 * files or in a statement.
 */
export function names(schema: string, prefix: string): Names {
  if (!SCHEMA.test(schema) || schema.startsWith('pg_')) {
    throw new ConfigurationError(
      `schema ${JSON.stringify(schema)} is not a plain identifier: use 1-63 of [a-z0-9_], ` +
        'starting with a letter or _, and not pg_',
    );
  }
  if (!PREFIX.test(prefix)) {
    throw new ConfigurationError(
      `tablePrefix ${JSON.stringify(prefix)} is not a plain identifier prefix: use 0-32 of [a-z0-9_], ` +
        'starting with a letter or _',
    );
  }
  const table = (name: string): string => `${quoteIdent(schema)}.${quoteIdent(prefix + name)}`;
  return {
    schema,
    prefix,
    records: table('records'),
    audit: table('audit'),
    overrides: table('overrides'),
    versions: table('schema_version'),
    channel: channelName(schema, prefix),
  };
}

/** `<schema>.<prefix>records` when it fits an identifier, else a stable hash of it. */
function channelName(schema: string, prefix: string): string {
  const readable = `${schema}.${prefix}records`;
  if (readable.length <= MAX_IDENTIFIER) return readable;
  return `retrysafe_${createHash('sha256').update(readable).digest('hex').slice(0, 32)}`;
}
