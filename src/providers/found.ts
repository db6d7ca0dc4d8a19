import type { LookupAnswer } from '../executor/policy.ts';
import { pick } from './answers.ts';
import type { HttpAnswer } from './types.ts';

/** A lookup's `found` answer for a resource read back as JSON; its `id` (or `idField`) is the provider reference. */
export function foundResource(resource: unknown, idField = 'id'): LookupAnswer<HttpAnswer> {
  const id = pick(resource, idField);
  return {
    status: 'found',
    value: { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(resource) },
    ...(typeof id === 'string' || typeof id === 'number' ? { providerRef: String(id) } : {}),
  };
}

/** A lookup's `unknown` answer for an HTTP answer it cannot read. */
export function unreadable(provider: string, what: string, answer: HttpAnswer): LookupAnswer<HttpAnswer> {
  return { status: 'unknown', reason: `${provider} ${what} answered ${answer.status}` };
}

/**
 * True when `url` is an absolute URL on `origin`. Lookups send credentials, so they follow links from a
 * provider's answer (next pages) only on the origin they were asked about.
 */
export function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}
