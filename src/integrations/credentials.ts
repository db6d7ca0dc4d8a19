import { ConfigurationError } from '../errors/errors.ts';
import type { HttpClient, HttpRequestEnvelope } from '../providers/types.ts';

/**
 * Header names that carry credentials: never stored with a request. Pass credentials through the
 * integration's `headers` option instead, which is applied at send time and never stored. Any header
 * whose name contains one of {@link CREDENTIAL_HEADER_WORDS} is refused as well.
 */
export const SECRET_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'x-api-key',
  'api-key',
  'apikey',
  'x-apikey',
  'x-auth-token',
  'x-access-token',
  'private-token',
  'x-goog-api-key',
  'x-amz-security-token',
  'x-amz-credential',
  'x-csrf-token',
  'x-xsrf-token',
  'x-vault-token',
  'x-functions-key',
  'ocp-apim-subscription-key',
  'x-shopify-access-token',
  'x-figma-token',
  'x-session-id',
  'x-client-secret',
  'x-signature',
]);

/** Words that mark a header name as a credential wherever they appear in it (`x-my-auth-token`). */
export const CREDENTIAL_HEADER_WORDS = [
  'auth',
  'token',
  'secret',
  'password',
  'passwd',
  'api-key',
  'apikey',
  'cookie',
  'credential',
  'session',
  'signature',
] as const;

/**
 * Query parameter names that carry credentials (compared case-insensitively, `-` read as `_`): a URL
 * carrying one is refused, because the URL is stored with the request.
 */
export const SECRET_QUERY_PARAMETERS: ReadonlySet<string> = new Set([
  'api_key',
  'apikey',
  'key',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'auth',
  'auth_token',
  'authorization',
  'client_secret',
  'secret',
  'password',
  'passwd',
  'pwd',
  'signature',
  'sig',
  'private_token',
  'session',
  'session_id',
  'sessionid',
  'x_amz_signature',
  'x_amz_credential',
  'x_amz_security_token',
  'x_goog_signature',
  'x_goog_credential',
]);

/** Extra names to refuse, on top of the built-in lists: the hook for a provider's own credential names. */
export interface CredentialRules {
  /** Further header names (any case) that carry credentials. */
  readonly credentialHeaders?: readonly string[] | undefined;
  /** Further query parameter names (any case) that carry credentials. */
  readonly credentialParameters?: readonly string[] | undefined;
}

/** True when a header of this name carries a credential under the built-in lists or `rules`. */
export function isCredentialHeader(name: string, rules: CredentialRules = {}): boolean {
  const lower = name.toLowerCase();
  if (SECRET_HEADERS.has(lower)) return true;
  if (rules.credentialHeaders?.some((extra) => extra.toLowerCase() === lower) === true) return true;
  return CREDENTIAL_HEADER_WORDS.some((word) => lower.includes(word));
}

/** True when a query parameter of this name carries a credential under the built-in lists or `rules`. */
export function isCredentialParameter(name: string, rules: CredentialRules = {}): boolean {
  const normal = (text: string): string => text.toLowerCase().replaceAll('-', '_');
  const lower = normal(name);
  if (SECRET_QUERY_PARAMETERS.has(lower)) return true;
  return rules.credentialParameters?.some((extra) => normal(extra) === lower) === true;
}

/**
 * Refuses a request that would store a credential: a credential header, a user name or password in the
 * URL, or a credential-looking query parameter. Runs before anything is reserved. The error names what
 * was found, never its value, so no request text reaches an error, a log or a stored reason.
 */
export function assertNoCredentials(request: HttpRequestEnvelope, rules: CredentialRules = {}): void {
  for (const name of Object.keys(request.headers)) {
    if (isCredentialHeader(name, rules)) {
      throw new ConfigurationError(
        `the ${name.toLowerCase()} header would be stored with the request: pass credentials through ` +
          "the integration's `headers` option, which is applied at send time and never stored",
      );
    }
  }
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    throw new ConfigurationError('the request URL is not an absolute URL');
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigurationError(
      'the request URL carries a user name or password, which would be stored with the request: pass ' +
        "credentials through the integration's `headers` option",
    );
  }
  for (const name of new Set(url.searchParams.keys())) {
    if (isCredentialParameter(name, rules)) {
      throw new ConfigurationError(
        `the request URL carries the credential-looking query parameter ${JSON.stringify(name)}, which ` +
          "would be stored with the request: pass credentials through the integration's `headers` option",
      );
    }
  }
}

/**
 * The origins an operation may send to, parsed from its declaration: `https://api.stripe.com` (scheme,
 * host and port; any path is ignored). Refuses values that are not absolute http(s) URLs.
 */
export function declaredOrigins(where: string, origin: string | readonly string[]): ReadonlySet<string> {
  const list = typeof origin === 'string' ? [origin] : origin;
  if (list.length === 0) throw new ConfigurationError(`${where}: origin must name at least one origin`);
  const origins = new Set<string>();
  for (const text of list) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new ConfigurationError(`${where}: origin ${JSON.stringify(text)} is not an absolute URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new ConfigurationError(`${where}: origin ${JSON.stringify(text)} is not http(s)`);
    }
    origins.add(url.origin);
  }
  return origins;
}

/** The origin of a URL, or undefined when it is not an absolute URL. */
export function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/** Refuses a request to an origin the operation did not declare (nothing is sent, no credential leaves). */
export function assertDeclaredOrigin(request: HttpRequestEnvelope, origins: ReadonlySet<string>): void {
  const origin = originOf(request.url);
  if (origin === undefined || !origins.has(origin)) {
    throw new ConfigurationError(
      `refusing to send to ${origin ?? 'a URL that is not absolute'}: the operation declared only ` +
        [...origins].join(', '),
    );
  }
}

/**
 * Wraps a transport so that it sends only to the declared origins: calls, re-sends of stored requests,
 * lookups, pages the provider links to and resources a conflict names. A request anywhere else is
 * refused before any byte (or credential) leaves.
 */
export function boundTransport(transport: HttpClient, origins: ReadonlySet<string>): HttpClient {
  return async (request, signal) => {
    assertDeclaredOrigin(request, origins);
    return transport(request, signal);
  };
}
