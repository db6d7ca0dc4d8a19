import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { expect } from './expect.ts';
import type { IdempotencyRecord } from '../../machine/record.ts';
import type { BeginRequest, Lease, OverrideRequestInput, Settlement, Store } from '../../stores/types.ts';

/** What every section of the contract gets: the store under test (created once per describe). */
export interface ContractContext {
  readonly store: () => Store;
  /** The suite's `eraseLeaseEnd` hook, when the store's test gives one (`StoreContractOptions`). */
  readonly eraseLeaseEnd?: ((key: string) => Promise<void>) | undefined;
}

/** An hour: long enough that nothing in a test expires or lapses unless the test means it to. */
export const HOUR_MS = 3_600_000;

export const sleep = (ms: number): Promise<void> => sleepFor(ms);

/** `sha256:<hex>` of a label, shaped like the fingerprints the library computes. */
export function fp(label: string): string {
  return `sha256:${createHash('sha256').update(label).digest('hex')}`;
}

/**
 * Keys, operation name and fingerprints unique to one test, so every test can share one database or
 * server with the others (and with other test files) without seeing their records.
 */
export function scope(label: string): {
  readonly key: (name?: string) => string;
  readonly operation: string;
  readonly prefix: string;
} {
  const prefix = `rs-contract:${label}:${randomUUID()}`;
  return { key: (name = 'k') => `${prefix}:${name}`, operation: `${prefix}:op@1`, prefix };
}

export function beginRequest(key: string, overrides: Partial<BeginRequest> = {}): BeginRequest {
  return {
    key,
    operation: 'contract-op@1',
    fingerprint: fp('a'),
    retryFailed: false,
    token: randomUUID(),
    leaseMs: HOUR_MS,
    ...overrides,
  };
}

export function settlement(overrides: Partial<Settlement> = {}): Settlement {
  return {
    state: 'succeeded',
    result: JSON.stringify({ value: { id: 'ch_1', amount: 1200 } }),
    providerRef: 'ch_1',
    reason: null,
    ttlMs: HOUR_MS,
    tombstoneMs: HOUR_MS,
    ...overrides,
  };
}

/** An override request by alice for payload `b` (fingerprint `fp('b')`) under a fresh id. */
export function overrideInput(
  key: string,
  overrides: Partial<OverrideRequestInput> = {},
): OverrideRequestInput {
  return {
    id: randomUUID(),
    key,
    fingerprint: fp('b'),
    requestedBy: 'alice',
    reason: 'the amount was wrong; charge the corrected amount',
    ...overrides,
  };
}

/** Begins and insists that the call reserved; returns the lease and the reserved record. */
export async function reserve(
  store: Store,
  key: string,
  overrides: Partial<BeginRequest> = {},
): Promise<{ lease: Lease; record: IdempotencyRecord }> {
  const begun = await store.begin(beginRequest(key, overrides));
  if (!begun.reserved) {
    throw new Error(`expected ${key} to be reserved, found ${begun.record.state}@${begun.record.attempt}`);
  }
  return { lease: begun.lease, record: begun.record };
}

/** Begins and insists that the call did not reserve; returns the record and the store time. */
export async function notReserved(
  store: Store,
  request: BeginRequest,
): Promise<{ record: IdempotencyRecord; now: number }> {
  const begun = await store.begin(request);
  if (begun.reserved)
    throw new Error(`expected ${request.key} not to be reserved (attempt ${begun.lease.attempt})`);
  return { record: begun.record, now: begun.now };
}

/** Reserves and settles in one go. */
export async function settled(
  store: Store,
  key: string,
  begin: Partial<BeginRequest> = {},
  settle: Partial<Settlement> = {},
): Promise<IdempotencyRecord> {
  const { lease } = await reserve(store, key, begin);
  const done = await store.settle(lease, settlement(settle));
  if (!done.ok) throw new Error(`expected the holder of ${key} to settle`);
  return done.record;
}

export async function current(store: Store, key: string): Promise<IdempotencyRecord> {
  const record = await store.get(key);
  if (record === undefined) throw new Error(`expected a record for ${key}`);
  return record;
}

/** `actual` is `expected` give or take a millisecond (stores may round their clock to ms separately). */
export function expectAbout(actual: number | null, expected: number): void {
  expect(actual).not.toBeNull();
  expect(Math.abs((actual ?? Number.NaN) - expected)).toBeLessThanOrEqual(1);
}

/**
 * Whether the JSON text holds `value` anywhere (as a property value or array element). Audit `detail`
 * layouts may differ between stores; what matters is that the evidence is in it.
 */
export function detailHolds(detail: string, value: unknown): boolean {
  const seen = (node: unknown): boolean => {
    if (node === value) return true;
    if (Array.isArray(node)) return node.some(seen);
    if (typeof node === 'object' && node !== null) return Object.values(node).some(seen);
    return false;
  };
  return seen(JSON.parse(detail) as unknown);
}
