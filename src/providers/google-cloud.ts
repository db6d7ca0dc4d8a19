import { jsonOf, pick } from './answers.ts';
import { foundResource, unreadable } from './found.ts';
import { jsonObjectBody } from './key.ts';
import { HOUR } from './time.ts';
import type { ProviderProfile } from './types.ts';

/**
 * Google Cloud APIs with a `requestId` request field (Network Connectivity, VM Migration, Vision AI, Edge
 * Network, ...).
 * - Key: field `requestId`: a valid UUID, not the zero UUID [doc: generated client docs]. A UUIDv5 is one.
 * - Retention: the server guarantees it for at least 60 minutes after the first request [doc].
 * - Replay: the request is ignored if already completed; the answer's content is not specified [doc].
 * - Mismatch / in progress: unknown.
 * - Lookup: none built in (GET by a client-chosen name differs per API): keep the TTL within 60 min or
 *   bring a lookup; the TTL check says so.
 */
export const googleCloud: ProviderProfile = {
  name: 'google-cloud',
  key: { in: 'body', field: 'requestId' },
  format: { uuid: true },
  retention: { floorMs: HOUR, countsFrom: 'first-request' },
  replay: 'unspecified',
  signals: {},
};

/**
 * Google Compute Engine (`insert` of a named resource).
 * - Key: query parameter `requestId`, a valid non-zero UUID [doc].
 * - Retention: the field's text states no duration: unknown, so a re-send is never known to be safe.
 * - Natural idempotency: the client names the resource (`name`) and a second create collides on it [doc];
 *   the lookup reads the resource by that name (GET `<collection>/<name>`): 200 found, 404 absent. A GET
 *   by name is assumed consistent; a settle delay of 0 is an assumption.
 */
export const googleCompute: ProviderProfile = {
  name: 'google-compute',
  key: { in: 'query', name: 'requestId' },
  format: { uuid: true },
  retention: { floorMs: null, countsFrom: 'first-request' },
  replay: 'unspecified',
  signals: {},
  lookup: {
    settleMs: 0,
    find: async ({ request }, http) => {
      const name = jsonObjectBody(googleCompute, request)['name'];
      if (typeof name !== 'string' || name === '') {
        return { status: 'unknown', reason: 'the request names no resource' };
      }
      const url = new URL(request.url);
      url.search = '';
      url.pathname = `${url.pathname.replace(/\/$/, '')}/${encodeURIComponent(name)}`;
      const answer = await http({ method: 'GET', url: url.toString(), headers: {}, body: null });
      if (answer.status === 404) return { status: 'absent' };
      if (answer.status !== 200) return unreadable('Compute Engine', 'GET by name', answer);
      const resource = jsonOf(answer);
      return pick(resource, 'name') === name
        ? foundResource(resource)
        : unreadable('Compute Engine', 'GET', answer);
    },
  },
};
