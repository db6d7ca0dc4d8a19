import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  OutcomeUnknownError,
  retrysafe,
  type RetrySafe,
  type RetrySafeOptions,
} from '../../src/index.ts';
import type { Store } from '../../src/stores/types.ts';
import { storeKinds } from './store-kinds.ts';

/**
 * A person's new generation (issue 11): without a lookup an unknown outcome stays unknown, and a
 * `released` resolution may ask that the next attempt send a NEW provider key, with who and why in the
 * audit log; directly under a single-person policy, or through a request a second person approves.
 */

class Timeout extends Error {
  override name = 'Timeout';
}

interface Sent {
  readonly providerKey: string;
  readonly generation: number;
}

const kinds = await storeKinds('newgen');

describe.each(kinds)('a new generation asked for by a person on %s', (_name, make) => {
  const kind = make();
  const stores: Store[] = [];
  afterAll(async () => {
    for (const store of stores) await store.close();
    await kind.cleanup();
  });
  const client = (options: Partial<RetrySafeOptions> = {}): RetrySafe => {
    const store = kind.open();
    stores.push(store);
    return retrysafe({ store, namespace: 'newgen', ...options });
  };

  /**
   * An operation with no lookup whose first attempt times out (an unknown outcome), and which records
   * the provider key every attempt sends.
   */
  const charges = (rs: RetrySafe) => {
    const sent: Sent[] = [];
    const charge = rs.operation<string, string>({
      name: `charge-${randomUUID().slice(0, 8)}`,
      version: 1,
      key: (order) => ({ order }),
      call: (_order, ctx) => {
        sent.push({ providerKey: ctx.providerKey, generation: ctx.generation });
        return sent.length === 1 ? Promise.reject(new Timeout('no answer')) : Promise.resolve('charged');
      },
    });
    return { charge, sent };
  };

  /** An unknown outcome: the first call timed out, and without a lookup a retry leaves it unknown. */
  const unknownOrder = async (rs: RetrySafe) => {
    const { charge, sent } = charges(rs);
    const order = randomUUID();
    await expect(charge(order)).rejects.toBeInstanceOf(OutcomeUnknownError);
    await expect(charge(order)).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect(sent).toHaveLength(1);
    const key = charge.keyOf(order);
    expect(await rs.get(key)).toMatchObject({ state: 'unknown', generation: 1 });
    return { charge, sent, order, key };
  };

  it('approved by a second person: the next attempt sends a new provider key; rekeyed names who and why', async () => {
    const rs = client();
    const { charge, sent, order, key } = await unknownOrder(rs);
    const reason = 'no charge in the dashboard; the key replays its 500';
    const request = await rs.requestResolution(key, {
      state: 'released',
      newGeneration: true,
      by: 'alice',
      reason,
    });
    expect(request).toMatchObject({ newGeneration: true, requestedBy: 'alice', state: 'released' });
    expect((await rs.resolutionRequests(key)).map((r) => r.newGeneration)).toEqual([true]);
    // A request changes nothing until it is approved.
    expect(await rs.get(key)).toMatchObject({ state: 'unknown', generation: 1 });

    const record = await rs.approveResolution(key, request.id, { by: 'bob' });
    expect(record).toMatchObject({ state: 'released', generation: 2, keyEvidence: null });

    const done = await charge(order);
    expect(done).toMatchObject({ value: 'charged', replayed: false, generation: 2 });
    expect(sent.map((s) => s.generation)).toEqual([1, 2]);
    expect(sent[1]?.providerKey).not.toBe(sent[0]?.providerKey);
    expect(done.providerKey).toBe(sent[1]?.providerKey);

    const audit = await rs.audit(key);
    const rekeyed = audit.filter((entry) => entry.event === 'rekeyed');
    expect(rekeyed.map((entry) => entry.actor)).toEqual(['bob']);
    const detail = JSON.parse(rekeyed[0]?.detail ?? '{}') as Record<string, unknown>;
    expect(detail).toMatchObject({
      reason,
      fromGeneration: 1,
      toGeneration: 2,
      evidence: {
        source: 'person',
        requestedBy: 'alice',
        reason,
        resolution: { kind: 'second-person', request: request.id, requestedBy: 'alice', approvedBy: 'bob' },
      },
    });
  });

  it('without newGeneration, the next attempt after a released resolution keeps the same provider key', async () => {
    const rs = client();
    const { charge, sent, order, key } = await unknownOrder(rs);
    const request = await rs.requestResolution(key, { state: 'released', by: 'alice', reason: 'no charge' });
    expect(request.newGeneration).toBe(false);
    await rs.approveResolution(key, request.id, { by: 'bob' });
    const done = await charge(order);
    expect(done.generation).toBe(1);
    expect(sent[1]?.providerKey).toBe(sent[0]?.providerKey);
    expect((await rs.audit(key)).map((entry) => entry.event)).not.toContain('rekeyed');
  });

  it('under single-person resolution one person asks for it directly, audited as such', async () => {
    const rs = client({ resolvePolicy: 'single-person' });
    const { charge, sent, order, key } = await unknownOrder(rs);
    const record = await rs.resolve(key, {
      state: 'released',
      newGeneration: true,
      by: 'Alice ',
      reason: 'on call alone: no charge',
    });
    expect(record).toMatchObject({ state: 'released', generation: 2 });
    await charge(order);
    expect(sent[1]?.providerKey).not.toBe(sent[0]?.providerKey);
    const rekeyed = (await rs.audit(key)).find((entry) => entry.event === 'rekeyed');
    expect(rekeyed?.actor).toBe('alice');
    expect(JSON.parse(rekeyed?.detail ?? '{}')).toMatchObject({
      reason: 'on call alone: no charge',
      evidence: { requestedBy: 'alice', resolution: { kind: 'single-person' } },
    });
  });

  it('refuses newGeneration with any state but released, before anything is written', async () => {
    const rs = client({ resolvePolicy: 'single-person' });
    const { key } = await unknownOrder(rs);
    const before = await rs.audit(key);
    for (const state of ['succeeded', 'failed'] as const) {
      const given = { state, newGeneration: true, by: 'alice', reason: 'r', providerRef: 'ch_1' };
      await expect(rs.resolve(key, given)).rejects.toBeInstanceOf(ConfigurationError);
      await expect(rs.requestResolution(key, given)).rejects.toThrow(
        /newGeneration goes with state released/,
      );
    }
    const notBoolean = { state: 'released', newGeneration: 'yes', by: 'alice', reason: 'r' } as never;
    await expect(rs.resolve(key, notBoolean)).rejects.toBeInstanceOf(ConfigurationError);
    expect(await rs.audit(key)).toEqual(before);
    expect(await rs.get(key)).toMatchObject({ state: 'unknown', generation: 1 });
  });
});
