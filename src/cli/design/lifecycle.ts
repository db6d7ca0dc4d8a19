import type { OperationPolicy } from '../../index.ts';
import { formatDuration } from '../duration.ts';

/**
 * The request-lifecycle state machine for one operation, as Mermaid. The edges that depend on the
 * operation (retrying failures, re-sends, lookups) appear only when its policy and provider allow them;
 * the durations are the policy's.
 */
export function lifecycleDiagram(policy: OperationPolicy, hasLookup: boolean): string {
  const d = formatDuration;
  const edges = [
    'stateDiagram-v2',
    '    [*] --> in_flight: reserve (atomic insert, attempt 1)',
    `    in_flight --> in_flight: heartbeat (lease ${d(policy.leaseMs)}, fenced)`,
    '    in_flight --> succeeded: call returned (settle, fenced on attempt + token)',
    '    in_flight --> failed: provider refused definitively',
    '    in_flight --> released: provably never sent',
    '    in_flight --> unknown: timeout / reset / 5xx / crash',
    `    in_flight --> unknown: lease lapsed (no heartbeat for ${d(policy.leaseMs)})`,
    '    released --> in_flight: same payload, attempt + 1',
  ];
  if (policy.retryFailed) edges.push('    failed --> in_flight: same payload (retryFailed), attempt + 1');
  if (policy.resendWithinMs > 0) {
    edges.push(
      `    unknown --> succeeded: re-sent under the same provider key (within ${d(policy.resendWithinMs)})`,
    );
  }
  if (hasLookup) {
    edges.push('    unknown --> succeeded: lookup found the write');
    edges.push(
      policy.lookupSettleMs > 0
        ? `    unknown --> released: lookup absent (${d(policy.lookupSettleMs)} after it became unknown)`
        : '    unknown --> released: lookup absent',
    );
  }
  edges.push(
    '    unknown --> succeeded: person resolves (retrysafe resolve)',
    '    unknown --> failed: person resolves',
    '    unknown --> released: person resolves (not performed)',
    '    succeeded --> in_flight: approved override (generation + 1)',
    '    failed --> in_flight: approved override (generation + 1)',
    `    succeeded --> tombstone: TTL ${d(policy.ttlMs)} passed (gc drops the result)`,
    `    failed --> tombstone: TTL ${d(policy.ttlMs)} passed`,
    `    tombstone --> [*]: ${d(policy.tombstoneMs)} more (gc deletes; the key means a new write)`,
  );
  return edges.join('\n');
}
