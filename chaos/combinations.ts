import { IMPLS, REPLICATED_STORES, STORES, type ImplName, type StoreName } from './impls/types.ts';

export interface Combination {
  readonly impl: ImplName;
  readonly store: StoreName | 'none';
}

/** Where each implementation runs: retrysafe on every store, plain retries on none, peers on Redis. */
export function storesOf(impl: ImplName): readonly (StoreName | 'none')[] {
  if (impl === 'retrysafe') return [...STORES, ...REPLICATED_STORES];
  if (impl === 'plain') return ['none'];
  return ['redis'];
}

/** The combinations `--impl` and `--store` select (`all` for every one). */
export function combinations(impl: string, store: string): Combination[] {
  const impls = IMPLS.filter((name) => impl === 'all' || name === impl);
  if (impls.length === 0) throw new Error(`--impl must be one of ${IMPLS.join(', ')} or all`);
  const named: readonly string[] = [...STORES, ...REPLICATED_STORES];
  if (store !== 'all' && store !== 'none' && !named.includes(store)) {
    throw new Error(`--store must be one of ${named.join(', ')}, none or all`);
  }
  const selected: Combination[] = [];
  for (const name of impls) {
    const stores = storesOf(name);
    // Plain retries keep nothing, so any --store selects its single row.
    const chosen =
      store === 'all' || name === 'plain'
        ? stores.filter((s) => !(REPLICATED_STORES as readonly string[]).includes(s))
        : stores.filter((s) => s === store);
    if (chosen.length === 0 && impl !== 'all') {
      throw new Error(`${name} runs on ${stores.join(', ')} here, not on ${store}`);
    }
    for (const s of chosen) selected.push({ impl: name, store: s });
  }
  return selected;
}
