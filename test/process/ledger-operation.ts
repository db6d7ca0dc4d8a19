import type { Operation, OperationPolicy, RetrySafe } from '../../src/index.ts';
import type { LedgerEffect } from './ledger-server.ts';

export interface LedgerOperationOptions {
  /** Base URL of the ledger server. */
  readonly server: string;
  /** Declare a lookup against the server's effects (reconciliation after a crash). */
  readonly lookup: boolean;
  readonly policy?: Partial<OperationPolicy>;
  /** Told just before each request is sent (the worker prints it). */
  readonly onCall?: (id: string, attempt: number) => void;
}

/**
 * The operation every process test runs: one write per logical id to the ledger server, sent with the
 * provider key in `Idempotency-Key`. Declared in one place so that workers and the test process derive
 * the same keys.
 *
 * @example
 * ```ts
 * const write = ledgerOperation(rs, { server: ledger.url, lookup: true });
 * const { value } = await write('order-1'); // value.effectId names the server's effect
 * ```
 */
export function ledgerOperation(
  rs: RetrySafe,
  options: LedgerOperationOptions,
): Operation<string, LedgerEffect> {
  const { server } = options;
  return rs.operation<string, LedgerEffect, { id: string; amount: number }>({
    ...options.policy,
    name: 'ledger-write',
    version: 1,
    key: (id) => ({ id }),
    payload: (id) => ({ id, amount: 1 }),
    // The signal is deliberately not passed to fetch: a holder that lost its lease still receives the
    // server's answer, and its refused settlement then carries that answer into the audit log.
    call: async (id, { providerKey, attempt }) => {
      options.onCall?.(id, attempt);
      const response = await fetch(`${server}/write/${encodeURIComponent(id)}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': providerKey,
          'x-attempt': String(attempt),
        },
        body: JSON.stringify({ id, amount: 1 }),
      });
      if (!response.ok) throw new Error(`ledger answered ${response.status}: ${await response.text()}`);
      return (await response.json()) as LedgerEffect;
    },
    providerRef: (effect) => effect.effectId,
    ...(options.lookup
      ? {
          lookup: async ({ id }) => {
            const response = await fetch(`${server}/effects/${encodeURIComponent(id)}`);
            if (!response.ok) return { status: 'unknown', reason: `lookup answered ${response.status}` };
            const { effects } = (await response.json()) as { effects: LedgerEffect[] };
            const [effect] = effects;
            return effect === undefined
              ? { status: 'absent' }
              : { status: 'found', value: effect, providerRef: effect.effectId };
          },
        }
      : {}),
  });
}
