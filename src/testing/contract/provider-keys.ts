import { randomUUID } from 'node:crypto';
import { expect } from './expect.ts';
import { it } from './runner.ts';
import type { Lease, ReclaimRequest } from '../../stores/types.ts';
import {
  current,
  detailHolds,
  HOUR_MS,
  notReserved,
  beginRequest,
  reserve,
  scope,
  settlement,
  type ContractContext,
} from './support.ts';

/** An unknown record at attempt 1 whose settle wrote `keyEvidence` (or left it out). */
async function unknownWith(
  store: ReturnType<ContractContext['store']>,
  key: string,
  keyEvidence?: 'answered' | 'absent' | 'burned',
): Promise<Lease> {
  const { lease } = await reserve(store, key);
  const done = await store.settle(
    lease,
    settlement({
      state: 'unknown',
      result: null,
      reason: 'stripe answered 500',
      ...(keyEvidence === undefined ? {} : { keyEvidence }),
    }),
  );
  expect(done.ok).toBe(true);
  return lease;
}

function reclaimRequest(key: string, overrides: Partial<ReclaimRequest> = {}): ReclaimRequest {
  return { key, attempt: 1, token: randomUUID(), leaseMs: HOUR_MS, reason: 'lookup: absent', ...overrides };
}

/**
 * Provider-key evidence and new generations (SEMANTICS.md, invariant 12): written only by fenced
 * transitions, kept within a generation, reset by a new one; a rekey only for a burned key.
 */
export function providerKeysContract({ store }: ContractContext): void {
  it('a settle writes the key evidence with the outcome; a settle without it leaves it unchanged', async () => {
    const { key } = scope('evidence-settle');
    const fresh = await reserve(store(), key());
    expect(fresh.record.keyEvidence).toBeNull();
    await store().settle(
      fresh.lease,
      settlement({ state: 'unknown', result: null, keyEvidence: 'answered' }),
    );
    expect((await current(store(), key())).keyEvidence).toBe('answered');

    const again = await store().reclaim(reclaimRequest(key()));
    if (!again.ok) throw new Error('expected to reclaim');
    // The reclaim without evidence keeps it; so does a settle without it.
    expect(again.record.keyEvidence).toBe('answered');
    await store().settle(again.lease, settlement({ state: 'unknown', result: null }));
    expect((await current(store(), key())).keyEvidence).toBe('answered');
  });

  it('a stale holder cannot write evidence: its settle is refused and the evidence stays', async () => {
    const { key } = scope('evidence-stale');
    const lease = await unknownWith(store(), key(), 'answered');
    const claimed = await store().reclaim(reclaimRequest(key(), { keyEvidence: 'absent' }));
    expect(claimed.ok && claimed.record.keyEvidence).toBe('absent');
    const late = await store().settle(lease, settlement({ state: 'unknown', keyEvidence: 'burned' }));
    expect(late.ok).toBe(false);
    expect((await current(store(), key())).keyEvidence).toBe('absent');
  });

  it('reclaim after a trusted absent keeps the generation and provider key, with evidence absent', async () => {
    const { key } = scope('evidence-absent');
    await unknownWith(store(), key(), 'answered');
    const before = await current(store(), key());
    const claimed = await store().reclaim(reclaimRequest(key(), { keyEvidence: 'absent' }));
    if (!claimed.ok) throw new Error('expected to reclaim');
    expect(claimed.lease.generation).toBe(before.generation);
    expect(claimed.record).toMatchObject({
      state: 'in_flight',
      attempt: 2,
      generation: before.generation,
      keyEvidence: 'absent',
      createdAt: before.createdAt,
    });
    expect((await store().audit(key())).map((entry) => entry.event)).toEqual(['reclaimed']);
  });

  it('a rekey of a key that is not burned is refused and changes nothing', async () => {
    const { key } = scope('rekey-refused');
    for (const evidence of [undefined, 'answered', 'absent'] as const) {
      const k = key(String(evidence));
      await unknownWith(store(), k, evidence);
      const before = await current(store(), k);
      const refused = await store().reclaim(reclaimRequest(k, { rekey: { evidence: { lookup: 'absent' } } }));
      expect(refused).toEqual({ ok: false, record: before });
      expect(await store().audit(k)).toEqual([]);
    }
  });

  it('a rekey of a burned key starts a new generation, audited as rekeyed with its evidence', async () => {
    const { key } = scope('rekey');
    const lease = await unknownWith(store(), key(), 'burned');
    const before = await current(store(), key());
    const token = randomUUID();
    const evidence = { answer: 'stripe answered 500 (replayed)', lookup: 'absent', lookupAt: 1234 };
    const stale = await store().reclaim(reclaimRequest(key(), { attempt: 2, token, rekey: { evidence } }));
    expect(stale).toEqual({ ok: false, record: before });

    const claimed = await store().reclaim(reclaimRequest(key(), { token, rekey: { evidence } }));
    if (!claimed.ok) throw new Error('expected to rekey');
    expect(claimed.lease).toMatchObject({ attempt: 2, generation: before.generation + 1, token });
    expect(claimed.record).toMatchObject({
      state: 'in_flight',
      attempt: 2,
      generation: before.generation + 1,
      fingerprint: before.fingerprint,
      request: before.request,
      keyEvidence: null,
    });
    // The new provider key's retention starts now: createdAt restarts with the generation.
    expect(claimed.record.createdAt).toBeGreaterThanOrEqual(before.createdAt);
    expect(claimed.record.createdAt).toBe(claimed.record.updatedAt);

    const audit = await store().audit(key());
    expect(audit.map((entry) => entry.event)).toEqual(['rekeyed']);
    const [rekeyed] = audit;
    expect(rekeyed?.attempt).toBe(2);
    expect(rekeyed?.actor).toBe('executor');
    const detail = rekeyed?.detail ?? 'null';
    for (const value of ['lookup: absent', 'stripe answered 500 (replayed)', 'burned', 1234]) {
      expect(detailHolds(detail, value), `rekeyed detail holds ${String(value)}`).toBe(true);
    }
    expect(JSON.parse(detail)).toMatchObject({
      fromGeneration: before.generation,
      toGeneration: before.generation + 1,
      evidence,
    });

    // The old generation's holder is fenced out; the new one settles.
    expect((await store().settle(lease, settlement())).ok).toBe(false);
    expect((await store().settle(claimed.lease, settlement())).ok).toBe(true);
    // The same rekey again is stale.
    const again = await store().reclaim(reclaimRequest(key(), { rekey: { evidence } }));
    expect(again.ok).toBe(false);
  });

  it('a released resolution may ask for a new generation: who and why are in the audit log', async () => {
    const { key } = scope('resolve-new-generation');
    await unknownWith(store(), key(), 'answered');
    const before = await current(store(), key());
    const resolved = await store().resolve({
      key: key(),
      attempt: 1,
      state: 'released',
      reason: 'checked the dashboard: no charge',
      actor: 'alice',
      ttlMs: HOUR_MS,
      tombstoneMs: HOUR_MS,
      newGeneration: { evidence: { by: 'alice' } },
    });
    if (!resolved.ok) throw new Error('expected to resolve');
    expect(resolved.record).toMatchObject({
      state: 'released',
      generation: before.generation + 1,
      keyEvidence: null,
    });
    const audit = await store().audit(key());
    expect(audit.map((entry) => [entry.event, entry.actor])).toEqual([
      ['resolved', 'alice'],
      ['rekeyed', 'alice'],
    ]);
    expect(detailHolds(audit[1]?.detail ?? 'null', 'checked the dashboard: no charge')).toBe(true);

    // The next call reserves in the new generation.
    const next = await reserve(store(), key());
    expect(next.lease.generation).toBe(before.generation + 1);
    expect(next.record.keyEvidence).toBeNull();
  });

  it('a resolution request keeps whether its approval is to start a new generation', async () => {
    const { key } = scope('request-new-generation');
    await unknownWith(store(), key(), 'answered');
    const input = {
      key: key(),
      attempt: 1,
      state: 'released' as const,
      result: null,
      providerRef: null,
      reason: 'no charge; the key replays its 500',
      requestedBy: 'alice',
    };
    expect((await store().requestResolution({ ...input, id: 'with', newGeneration: true })).ok).toBe(true);
    expect((await store().requestResolution({ ...input, id: 'without' })).ok).toBe(true);
    const details = (await store().audit(key())).map(
      (entry) => JSON.parse(entry.detail) as Record<string, unknown>,
    );
    expect(details.map((detail) => [detail['id'], detail['newGeneration']])).toEqual([
      ['with', true],
      ['without', false],
    ]);
    // A request changes no record: still the first generation.
    expect((await current(store(), key())).generation).toBe(1);
  });

  it('a new generation is only for released: other resolutions ignore it', async () => {
    const { key } = scope('resolve-new-generation-settled');
    await unknownWith(store(), key(), 'burned');
    const before = await current(store(), key());
    const resolved = await store().resolve({
      key: key(),
      attempt: 1,
      state: 'succeeded',
      result: '{"value":1}',
      reason: 'found it',
      actor: 'alice',
      ttlMs: HOUR_MS,
      tombstoneMs: HOUR_MS,
      newGeneration: { evidence: {} },
    });
    expect(resolved.ok && resolved.record.generation).toBe(before.generation);
    expect((await store().audit(key())).map((entry) => entry.event)).toEqual(['resolved']);
  });

  it('evidence is kept within a generation: a released record reserves again with it', async () => {
    const { key } = scope('evidence-released');
    await unknownWith(store(), key(), 'answered');
    const resolved = await store().resolve({
      key: key(),
      attempt: 1,
      state: 'released',
      reason: 'reconciled: absent',
      actor: 'reconciler',
      ttlMs: HOUR_MS,
      tombstoneMs: HOUR_MS,
      keyEvidence: 'absent',
    });
    expect(resolved.ok && resolved.record.keyEvidence).toBe('absent');
    const next = await reserve(store(), key());
    expect(next.record).toMatchObject({ generation: 1, keyEvidence: 'absent' });
    // A replay of the settled key shows its evidence too.
    await store().settle(next.lease, settlement({ keyEvidence: 'absent' }));
    const { record } = await notReserved(store(), beginRequest(key()));
    expect(record.keyEvidence).toBe('absent');
  });
}
