import { randomUUID } from 'node:crypto';
import { expect } from './expect.ts';
import { it } from './runner.ts';
import type { OverrideRefusal } from '../../machine/overrides.ts';
import { refusalText } from '../../stores/refusals.ts';
import type { OverrideAnswer } from '../../stores/types.ts';
import { fp, overrideInput, reserve, scope, settled, sleep, type ContractContext } from './support.ts';

/** The answer is refused with exactly this code and these fields, in the one wording. */
function expectRefused(answer: OverrideAnswer, refusal: OverrideRefusal): void {
  expect(answer).toEqual({ ok: false, refusal, reason: refusalText(refusal) });
}

/** Override refusals: the same code, fields and words on every store (src/machine/overrides.ts). */
export function refusalsContract({ store }: ContractContext): void {
  it('refuses override requests with the code and words of the rule', async () => {
    const { key } = scope('refusal-request');
    expectRefused(await store().requestOverride(overrideInput(key('missing'))), {
      code: 'no_record',
      key: key('missing'),
    });

    await reserve(store(), key('in-flight'));
    expectRefused(await store().requestOverride(overrideInput(key('in-flight'))), {
      code: 'not_settled',
      key: key('in-flight'),
      state: 'in_flight',
    });
    await settled(store(), key('unknown'), {}, { state: 'unknown', result: null });
    expectRefused(await store().requestOverride(overrideInput(key('unknown'))), {
      code: 'not_settled',
      key: key('unknown'),
      state: 'unknown',
    });

    await settled(store(), key('done'));
    expectRefused(await store().requestOverride(overrideInput(key('done'), { fingerprint: fp('a') })), {
      code: 'same_payload',
      key: key('done'),
    });
    const first = overrideInput(key('done'));
    expect((await store().requestOverride(first)).ok).toBe(true);
    expectRefused(await store().requestOverride({ ...first, fingerprint: fp('c') }), {
      code: 'duplicate_request',
      id: first.id,
    });

    await settled(store(), key('expired'), {}, { ttlMs: 1 });
    await sleep(50);
    expectRefused(await store().requestOverride(overrideInput(key('expired'))), {
      code: 'tombstone',
      key: key('expired'),
    });
  });

  it('refuses approvals with the code and words of the rule', async () => {
    const { key } = scope('refusal-approve');
    const unknownId = randomUUID();
    expectRefused(await store().approveOverride(unknownId, 'bob'), { code: 'no_request', id: unknownId });

    await settled(store(), key('self'));
    const self = overrideInput(key('self'));
    expect((await store().requestOverride(self)).ok).toBe(true);
    expectRefused(await store().approveOverride(self.id, 'alice'), {
      code: 'same_approver',
      id: self.id,
      requestedBy: 'alice',
    });
    expect((await store().approveOverride(self.id, 'bob')).ok).toBe(true);
    expectRefused(await store().approveOverride(self.id, 'carol'), {
      code: 'not_pending',
      id: self.id,
      status: 'approved',
    });

    await settled(store(), key('moved'), {}, { state: 'failed', result: '{}' });
    const moved = overrideInput(key('moved'));
    expect((await store().requestOverride(moved)).ok).toBe(true);
    await settled(store(), key('moved'), { retryFailed: true });
    expectRefused(await store().approveOverride(moved.id, 'bob'), {
      code: 'moved_on',
      id: moved.id,
      key: key('moved'),
      requested: { generation: 1, attempt: 1 },
      now: { generation: 1, attempt: 2 },
    });

    // A TTL long enough for the request to land first, even on a loaded machine.
    const expiring = await settled(store(), key('expiring'), {}, { ttlMs: 1_000 });
    const late = overrideInput(key('expiring'));
    expect((await store().requestOverride(late)).ok).toBe(true);
    await sleep(Math.max(0, (expiring.expiresAt ?? 0) - Date.now()) + 100);
    expectRefused(await store().approveOverride(late.id, 'bob'), {
      code: 'tombstone',
      key: key('expiring'),
    });
  });
}
