import { expect } from './expect.ts';
import { it } from './runner.ts';
import type { UnknownNote } from '../../stores/types.ts';
import {
  beginRequest,
  current,
  reserve,
  scope,
  settled,
  settlement,
  type ContractContext,
} from './support.ts';

function note(key: string, overrides: Partial<UnknownNote> = {}): UnknownNote {
  return {
    key,
    attempt: 1,
    action: 'lookup',
    answer: 'unknown',
    reason: 'lookup could not tell: search API returned 503',
    actor: 'reconciler',
    ...overrides,
  };
}

/**
 * What reconciliation leaves on a record it could not settle (`noteUnknown`), and the key fields a
 * record keeps so that a lookup from the record alone can search by the logical identity.
 */
export function notesContract({ store }: ContractContext): void {
  it('noteUnknown sets the reason of an unknown record and audits the answer, keeping its age', async () => {
    const { key } = scope('note-unknown');
    const { lease } = await reserve(store(), key());
    const ended = await store().settle(
      lease,
      settlement({ state: 'unknown', result: null, reason: 'timeout' }),
    );
    if (!ended.ok) throw new Error('expected the holder to settle');

    const noted = await store().noteUnknown(note(key()));
    expect(noted.ok).toBe(true);
    const after = await current(store(), key());
    expect(noted.ok && noted.record).toEqual(after);
    // Only the reason moves: the settle delay and the record's age still count from the attempt.
    expect(after).toEqual({ ...ended.record, reason: 'lookup could not tell: search API returned 503' });

    const second = await store().noteUnknown(
      note(key(), { action: 'resend', answer: 'error', reason: 're-send timed out', actor: 'ops' }),
    );
    expect(second.ok).toBe(true);
    expect((await current(store(), key())).reason).toBe('re-send timed out');

    const entries = (await store().audit(key())).filter((entry) => entry.event === 'still_unknown');
    expect(entries.map(({ attempt, actor }) => ({ attempt, actor }))).toEqual([
      { attempt: 1, actor: 'reconciler' },
      { attempt: 1, actor: 'ops' },
    ]);
    expect(entries.map((entry) => JSON.parse(entry.detail) as unknown)).toEqual([
      { action: 'lookup', answer: 'unknown', reason: 'lookup could not tell: search API returned 503' },
      { action: 'resend', answer: 'error', reason: 're-send timed out' },
    ]);
  });

  it('noteUnknown is refused, changing nothing, unless the record is unknown at exactly that attempt', async () => {
    const { key } = scope('note-refused');
    expect(await store().noteUnknown(note(key('missing')))).toEqual({ ok: false, record: undefined });

    const { record: inFlight } = await reserve(store(), key('in-flight'));
    expect(await store().noteUnknown(note(key('in-flight')))).toEqual({ ok: false, record: inFlight });

    const lapsed = await reserve(store(), key('lapsed'), { leaseMs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await store().noteUnknown(note(key('lapsed')))).toEqual({ ok: false, record: lapsed.record });

    const done = await settled(store(), key('succeeded'));
    expect(await store().noteUnknown(note(key('succeeded')))).toEqual({ ok: false, record: done });

    const { lease } = await reserve(store(), key('unknown'));
    const unknown = await store().settle(
      lease,
      settlement({ state: 'unknown', result: null, reason: 'timeout' }),
    );
    expect(await store().noteUnknown(note(key('unknown'), { attempt: 2 }))).toEqual({
      ok: false,
      record: unknown.record,
    });
    for (const name of ['in-flight', 'lapsed', 'succeeded', 'unknown']) {
      const events = (await store().audit(key(name))).map((entry) => entry.event);
      expect(events).not.toContain('still_unknown');
    }
    expect(await store().audit(key('missing'))).toEqual([]);
  });

  it('a record keeps the key fields it was begun with, through a re-reservation and a reclaim', async () => {
    const { key } = scope('key-fields');
    const fields = '{"orderId":1002}';
    const { lease, record } = await reserve(store(), key(), { keyFields: fields });
    expect(record.keyFields).toBe(fields);
    expect((await current(store(), key())).keyFields).toBe(fields);

    await store().settle(lease, settlement({ state: 'released', result: null, reason: 'refused' }));
    const again = await store().begin(beginRequest(key(), { keyFields: fields }));
    if (!again.reserved) throw new Error('expected the released key to reserve again');
    expect(again.record.keyFields).toBe(fields);

    await store().settle(again.lease, settlement({ state: 'unknown', result: null, reason: 'timeout' }));
    const reclaimed = await store().reclaim({
      key: key(),
      attempt: 2,
      token: 'next',
      leaseMs: 60_000,
      reason: 'absent',
    });
    expect(reclaimed.ok && reclaimed.record.keyFields).toBe(fields);

    const without = await reserve(store(), key('none'));
    expect(without.record.keyFields).toBeNull();
  });
}
