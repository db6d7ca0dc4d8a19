import { jsonOf, pick } from './answers.ts';
import { foundResource, unreadable } from './found.ts';
import { jsonObjectBody } from './key.ts';
import { MINUTE } from './time.ts';
import type { HttpRequestEnvelope, ProviderProfile } from './types.ts';

/** Entity property key used by the `property` marker. */
export const JIRA_PROPERTY = 'retrysafe';

/** How our provider key is stamped on the issue. */
export type JiraMarker = 'label' | 'property';

/** The label carrying our provider key. */
export function jiraLabel(providerKey: string): string {
  return `retrysafe-${providerKey}`;
}

function stamp(marker: JiraMarker, request: HttpRequestEnvelope, providerKey: string): HttpRequestEnvelope {
  const body = jsonObjectBody(jira(marker), request);
  if (marker === 'label') {
    const fields = (pick(body, 'fields') ?? {}) as Record<string, unknown>;
    const labels = Array.isArray(fields['labels']) ? (fields['labels'] as unknown[]) : [];
    return {
      ...request,
      body: JSON.stringify({ ...body, fields: { ...fields, labels: [...labels, jiraLabel(providerKey)] } }),
    };
  }
  const properties = Array.isArray(body['properties']) ? (body['properties'] as unknown[]) : [];
  return {
    ...request,
    body: JSON.stringify({
      ...body,
      properties: [...properties, { key: JIRA_PROPERTY, value: { key: providerKey } }],
    }),
  };
}

/**
 * Jira Cloud issue creation (`POST /rest/api/3/issue`).
 * - Key: none found: a repeat is a new issue.
 * - Marker: a label `retrysafe-<provider key>`, or an issue entity property `retrysafe` = `{ key }` set at
 *   creation through `properties` [sdk]. A property is JQL-searchable only when indexed (a
 *   `jira:entityProperty` module, at most 30 indexed values) [doc]; a label needs nothing.
 * - Lookup: JQL through `/rest/api/3/search/jql`, which is not read-after-write consistent: "from a few
 *   seconds to minutes" [doc]; `reconcileIssues` needs issue ids we do not have after a crash. The settle
 *   delay of 10 min is a margin chosen over "minutes", not a published number. The `issues[]` answer
 *   shape is an assumption.
 *
 * @example
 * ```ts
 * const profile = jira('label');
 * ```
 */
export function jira(marker: JiraMarker): ProviderProfile {
  return {
    name: `jira-${marker}`,
    key: null,
    format: {},
    retention: { floorMs: null, countsFrom: 'first-request' },
    replay: 'none',
    signals: {},
    mark: (request, providerKey) => stamp(marker, request, providerKey),
    lookup: {
      settleMs: 10 * MINUTE,
      find: async ({ request, providerKey }, http) => {
        const jql =
          marker === 'label'
            ? `labels = "${jiraLabel(providerKey)}"`
            : `issue.property[${JIRA_PROPERTY}].key = "${providerKey}"`;
        const url = new URL('/rest/api/3/search/jql', request.url);
        url.searchParams.set('jql', jql);
        url.searchParams.set('fields', 'summary,labels');
        const answer = await http({ method: 'GET', url: url.toString(), headers: {}, body: null });
        const issues = pick(jsonOf(answer), 'issues');
        if (answer.status !== 200 || !Array.isArray(issues)) return unreadable('Jira', 'JQL search', answer);
        const found: unknown = issues[0];
        return found === undefined ? { status: 'absent' } : foundResource(found, 'key');
      },
    },
  };
}

/** Jira with the label marker. */
export const jiraLabels: ProviderProfile = jira('label');
/** Jira with the entity property marker (the property must be indexed). */
export const jiraProperties: ProviderProfile = jira('property');
