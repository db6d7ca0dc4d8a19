import { addressUrl, maskedUrl, takeBoolean, takeParameter } from '../address.ts';
import type { StoreAddress, StoreKind } from '../registry.ts';

/** `postgres://…?schema=S&prefix=P` parsed: the `postgresStore` options it names. */
export interface PostgresAddress extends StoreAddress {
  readonly kind: 'postgres';
  /** The address without retrysafe's parameters: what `pg` is given. */
  readonly connectionString: string;
  readonly schema?: string;
  readonly tablePrefix?: string;
  /** `postgresStore({ allowAsynchronousStandbys })`. */
  readonly allowAsynchronousStandbys?: boolean;
}

/**
 * `postgres://user@host:5432/db` or `postgresql://…`, optional `?schema=<schema>&prefix=<table prefix>`
 * and `allowAsynchronousStandbys=true`.
 */
export const postgresAddresses: StoreKind<PostgresAddress> = {
  kind: 'postgres',
  schemes: ['postgres', 'postgresql'],
  parse(text) {
    const url = addressUrl(text);
    const schema = takeParameter(url, 'schema');
    const prefix = takeParameter(url, 'prefix');
    const allowAsynchronousStandbys = takeBoolean(url, 'allowAsynchronousStandbys');
    return {
      kind: 'postgres',
      connectionString: url.toString(),
      ...(schema === undefined ? {} : { schema }),
      ...(prefix === undefined ? {} : { tablePrefix: prefix }),
      ...(allowAsynchronousStandbys === undefined ? {} : { allowAsynchronousStandbys }),
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
      ...(address.allowAsynchronousStandbys === undefined
        ? {}
        : { allowAsynchronousStandbys: address.allowAsynchronousStandbys }),
    });
  },
};
