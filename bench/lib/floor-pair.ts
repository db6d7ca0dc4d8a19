import { retrysafe, type Operation } from '../../src/index.ts';
import { openFloor } from '../floors/index.ts';
import type { Floor } from '../floors/floor.ts';
import { row, type Extra, type Row, type StoreKind } from './rows.ts';
import type { ScenarioContext } from './scenario.ts';
import type { Summary } from './stats.ts';
import { destroyLocation, newLocation, openStore, type Location, type OpenedStore } from './stores.ts';
import { chargeOperation, NOOP, type Charge, type Receipt } from './workload.ts';

/** One store with its floor beside it, and the benchmark operation on a retrysafe client over the store. */
export interface FloorSetup {
  readonly kind: StoreKind;
  readonly location: Location;
  readonly opened: OpenedStore;
  readonly floor: Floor;
  readonly charge: Operation<Charge, Receipt>;
}

/**
 * Runs `measure` once per selected store on a fresh location holding the store and its floor, and
 * closes and removes both afterwards, whatever happens.
 */
export async function eachStoreWithFloor(
  context: ScenarioContext,
  label: string,
  measure: (setup: FloorSetup) => Promise<void>,
): Promise<void> {
  for (const kind of context.stores) {
    context.log(`${label}: ${kind}`);
    const location = newLocation(kind, context.env, label);
    const opened = await openStore(location);
    const floor = await openFloor(location);
    try {
      const charge = chargeOperation(retrysafe({ store: opened.store, namespace: 'bench' }));
      await measure({ kind, location, opened, floor, charge });
    } finally {
      await floor.close();
      await opened.close();
      await destroyLocation(location);
    }
  }
}

/** The retrysafe row and the floor row of one side-by-side case; the ratio is the floor's calls/s over ours. */
export function floorPairRows(
  common: { readonly scenario: string; readonly case: string; readonly store: StoreKind },
  ours: { readonly summary: Summary; readonly extra: Extra },
  base: { readonly summary: Summary; readonly extra: Extra; readonly note: string },
): Row[] {
  const shared = { ...common, downstream: NOOP };
  return [
    row({
      ...shared,
      impl: 'retrysafe',
      ops_per_s: ours.summary.opsPerS,
      p50_ms: ours.summary.p50Ms,
      p99_ms: ours.summary.p99Ms,
      ratio_to_floor: base.summary.opsPerS / ours.summary.opsPerS,
      extra: { calls: ours.summary.ops, ...ours.extra },
    }),
    row({
      ...shared,
      impl: 'floor',
      ops_per_s: base.summary.opsPerS,
      p50_ms: base.summary.p50Ms,
      p99_ms: base.summary.p99Ms,
      ratio_to_floor: 1,
      note: base.note,
      extra: { calls: base.summary.ops, ...base.extra },
    }),
  ];
}
