import { jsonOf, pick } from './answers.ts';
import { foundResource, sameOrigin, unreadable } from './found.ts';
import { jsonObjectBody } from './key.ts';
import { MINUTE, SECOND } from './time.ts';
import type { HttpAnswer, ProviderProfile } from './types.ts';

/** The hidden marker written into the issue body. */
export function githubMarker(providerKey: string): string {
  return `<!-- retrysafe:${providerKey} -->`;
}

const SKEW_MS = 5 * MINUTE;
const MAX_PAGES = 10;

/**
 * The `rel="next"` target of a `Link` header (RFC 8288). One pass with `indexOf`: a URI reference cannot
 * contain `<` or `>`, so each character is looked at a bounded number of times, whatever the provider (or
 * whoever answers in its place) sends. A regex here was quadratic on a hostile header.
 */
export function nextLink(answer: HttpAnswer): string | undefined {
  const header = answer.headers['link'] ?? '';
  for (let start = header.indexOf('<'); start !== -1;) {
    const end = header.indexOf('>', start + 1);
    if (end === -1) return undefined;
    const following = header.indexOf('<', end + 1);
    const params = header.slice(end + 1, following === -1 ? header.length : following);
    if (params.includes('rel') && relations(params).includes('next')) return header.slice(start + 1, end);
    start = following;
  }
  return undefined;
}

/** The `rel` values of one link's parameters (`; rel="next last"` or `; rel=next`). */
function relations(params: string): string[] {
  for (const param of params.split(';')) {
    const equals = param.indexOf('=');
    if (equals === -1 || param.slice(0, equals).trim().toLowerCase() !== 'rel') continue;
    const value = param
      .slice(equals + 1)
      .replace(/,\s*$/, '')
      .trim();
    const unquoted = value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
    return unquoted
      .toLowerCase()
      .split(' ')
      .filter((word) => word !== '');
  }
  return [];
}

/**
 * GitHub REST issues (and the same shape for anything created with a free-text body).
 * - Key: none for issue creation [doc][obs]: a repeat is a new issue.
 * - Marker: a hidden HTML comment with our provider key appended to `body`.
 * - Lookup: the list endpoint (`GET /repos/{owner}/{repo}/issues`, all states, newest first, `since` the
 *   record's creation less 5 min of clock skew), pull requests skipped, body matched for the marker.
 *   Never the search endpoint right after a write: its index lag (results after ~8 s) caused duplicates
 *   [obs]. The list endpoint's own consistency is not documented: a settle delay of 10 s is an assumption.
 * - Secondary rate limits (403/429) mid-create are a classic duplicate trigger [doc][3p]: both stay unknown
 *   here (never a definitive failure) and are reconciled by lookup.
 */
export const githubIssues: ProviderProfile = {
  name: 'github-issues',
  key: null,
  format: {},
  retention: { floorMs: null, countsFrom: 'first-request' },
  replay: 'none',
  signals: {
    failed: (a) => a.status >= 400 && a.status < 500 && ![403, 408, 409, 425, 429].includes(a.status),
  },
  mark(request, providerKey) {
    const body = jsonObjectBody(githubIssues, request);
    const text = typeof body['body'] === 'string' ? body['body'] : '';
    return { ...request, body: JSON.stringify({ ...body, body: `${text}\n\n${githubMarker(providerKey)}` }) };
  },
  lookup: {
    settleMs: 10 * SECOND,
    find: async ({ request, providerKey, since }, http) => {
      const marker = githubMarker(providerKey);
      const first = new URL(request.url);
      first.search = new URLSearchParams({
        state: 'all',
        sort: 'created',
        direction: 'desc',
        per_page: '100',
        since: new Date(since - SKEW_MS).toISOString(),
      }).toString();
      let url: string | undefined = first.toString();
      for (let page = 0; page < MAX_PAGES && url !== undefined; page++) {
        const answer = await http({ method: 'GET', url, headers: {}, body: null });
        const issues = jsonOf(answer);
        if (answer.status !== 200 || !Array.isArray(issues))
          return unreadable('GitHub', 'issue list', answer);
        const found: unknown = issues.find(
          (i) => pick(i, 'pull_request') === undefined && String(pick(i, 'body')).includes(marker),
        );
        if (found !== undefined) return foundResource(found, 'number');
        url = nextLink(answer);
        // The lookup carries credentials: follow pages only on the origin it was asked about.
        if (url !== undefined && !sameOrigin(url, first.origin)) {
          return { status: 'unknown', reason: 'the next page of issues is on another origin; not followed' };
        }
      }
      return url === undefined
        ? { status: 'absent' }
        : { status: 'unknown', reason: `more than ${MAX_PAGES} pages of issues since the attempt` };
    },
  },
};
