import path from 'node:path';
import { ConfigurationError } from '../../errors/errors.ts';
import { onlyKnownParameters } from '../address.ts';
import type { StoreAddress, StoreKind } from '../registry.ts';

/** `sqlite:./path.db?prefix=t_` parsed: the `sqliteStore` options it names. */
export interface SqliteAddress extends StoreAddress {
  readonly kind: 'sqlite';
  readonly path: string;
  readonly tablePrefix?: string;
}

/**
 * `sqlite:./path.db` (also `sqlite://./path.db`, `sqlite:///abs/path.db`), optional `?prefix=<table
 * prefix>`. Not a URL: the rest is a file path, relative to the opener's directory.
 */
export const sqliteAddresses: StoreKind<SqliteAddress> = {
  kind: 'sqlite',
  schemes: ['sqlite'],
  parse(text) {
    let rest = text.slice(text.indexOf(':') + 1);
    if (rest.startsWith('//')) rest = rest.slice(2);
    const query = rest.lastIndexOf('?');
    const params = new URLSearchParams(query === -1 ? '' : rest.slice(query + 1));
    const file = query === -1 ? rest : rest.slice(0, query);
    if (file === '') {
      throw new ConfigurationError('sqlite: store address needs a file path, e.g. sqlite:./retrysafe.db');
    }
    onlyKnownParameters(params, ['prefix'], 'sqlite');
    const prefix = params.get('prefix');
    return prefix === null || prefix === ''
      ? { kind: 'sqlite', path: file }
      : { kind: 'sqlite', path: file, tablePrefix: prefix };
  },
  describe: (address) => `sqlite:${address.path}`,
  file: (address, context) => path.resolve(context.cwd ?? process.cwd(), address.path),
  async open(address, context) {
    const { sqliteStore } = await import('./index.ts');
    return sqliteStore({
      path: path.resolve(context.cwd ?? process.cwd(), address.path),
      ...(address.tablePrefix === undefined ? {} : { tablePrefix: address.tablePrefix }),
    });
  },
};
