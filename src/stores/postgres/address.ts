import { addressUrl, maskedUrl, takeParameters } from '../address.ts';
import type { StoreAddress, StoreKind } from '../registry.ts';

/** `postgres://…?schema=S&prefix=P` parsed: the `postgresStore` options it names. */
export interface PostgresAddress extends StoreAddress {
  readonly kind: 'postgres';
  /** The address without retrysafe's parameters: what `pg` is given. */
  readonly connectionString: string;
  readonly schema?: string;
  readonly tablePrefix?: string;
}

/** `postgres://user@host:5432/db` or `postgresql://…`, optional `?schema=<schema>&prefix=<table prefix>`. */
export const postgresAddresses: StoreKind<PostgresAddress> = {
  kind: 'postgres',
  schemes: ['postgres', 'postgresql'],
  parse(text) {
    const url = addressUrl(text);
    const { schema, prefix } = takeParameters(url, ['schema', 'prefix']);
    return {
      kind: 'postgres',
      connectionString: url.toString(),
      ...(schema === undefined ? {} : { schema }),
      ...(prefix === undefined ? {} : { tablePrefix: prefix }),
    };
  },
  describe: (address) => maskedUrl(address.connectionString),
  async open(address, context) {
    const { postgresStore } = await import('./index.ts');
    return postgresStore({
      connectionString: address.connectionString,
      ...(context.maxConnections === undefined ? {} : { max: context.maxConnections }),
      ...(address.schema === undefined ? {} : { schema: address.schema }),
      ...(address.tablePrefix === undefined ? {} : { tablePrefix: address.tablePrefix }),
    });
  },
};
