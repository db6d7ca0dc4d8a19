import { jsonOf, pick } from './answers.ts';
import type { HttpAnswer, HttpRequestEnvelope, ProviderProfile } from './types.ts';

/**
 * The resource a 409 `idempotent_creation_conflict` names [doc blog][sdk tests]. The note gives
 * `links.conflicting_resource_id` on the error; whether it sits on `error` or on `error.errors[]` is not
 * pinned down, so both are read.
 */
function conflictingResource(answer: HttpAnswer, request: HttpRequestEnvelope): string | undefined {
  if (answer.status !== 409) return undefined;
  const error = pick(jsonOf(answer), 'error');
  const details = pick(error, 'errors');
  const entries: unknown[] = [error, ...(Array.isArray(details) ? (details as unknown[]) : [])];
  for (const entry of entries) {
    if (pick(entry, 'reason') !== 'idempotent_creation_conflict') continue;
    const id = pick(entry, 'links', 'conflicting_resource_id');
    if (typeof id === 'string' && id !== '') {
      const path = new URL(request.url).pathname.replace(/\/$/, '');
      return `${path}/${encodeURIComponent(id)}`;
    }
  }
  return undefined;
}

/**
 * GoCardless Pro.
 * - Key: header `Idempotency-Key` on creation endpoints [doc][sdk]. Format: unknown (none enforced).
 * - Retention: unknown: a re-send is never known to be safe.
 * - Replay: not a stored response: a repeat of a successful create is HTTP 409 `invalid_state`,
 *   `idempotent_creation_conflict`, naming `links.conflicting_resource_id` [doc][sdk]; retrysafe reads that
 *   resource (GET `<create path>/<id>`) and returns it as a replay, as the official SDKs do.
 * - Mismatch / in progress: unknown.
 * - Lookup: none built in. Past the retention the facts in hand are "list endpoints + metadata", with
 *   metadata filtering unknown; bring your own (`{ ...gocardless, lookup }`): the TTL check asks for it.
 */
export const gocardless: ProviderProfile = {
  name: 'gocardless',
  key: { in: 'header', name: 'Idempotency-Key' },
  format: {},
  retention: { floorMs: null, countsFrom: 'first-request' },
  replay: 'conflict-names-resource',
  signals: { existing: conflictingResource },
};
