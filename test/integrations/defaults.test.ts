import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError, retrysafe } from '../../src/index.ts';
import { idempotentFetch } from '../../src/integrations/fetch.ts';
import { adyen, DAY } from '../../src/providers/index.ts';
import { sqliteStore } from '../../src/stores/sqlite/index.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function client(defaults: { ttlMs: number }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'retrysafe-defaults-'));
  dirs.push(dir);
  return retrysafe({ store: sqliteStore({ path: path.join(dir, 'store.db') }), namespace: 'test', defaults });
}

describe('TTL check at declaration', () => {
  // Regression: the check used the built-in 7-day TTL instead of the client's defaults, so a 30-day default
  // TTL passed against Adyen's 7-day retention with no lookup.
  it("checks the TTL the operation will really have, including the client's defaults", () => {
    const declare = (ttlMs: number) => () =>
      idempotentFetch(client({ ttlMs }), { name: 'payment', version: 1, profile: adyen });
    expect(declare(30 * DAY)).toThrow(ConfigurationError);
    expect(declare(DAY)).not.toThrow();
  });
});
