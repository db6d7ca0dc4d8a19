import { ConfigurationError, InvalidKeyInputError } from '../errors/errors.ts';
import type { HttpAnswer, HttpRequestEnvelope } from '../providers/types.ts';
import { assertNoCredentials } from './credentials.ts';

type HeadersInit = ConstructorParameters<typeof Headers>[0];

/** The parts of a request the fetch wrapper and the interceptor accept. */
export interface RequestParts {
  readonly method?: string | undefined;
  readonly url: string | URL;
  readonly headers?:
    HeadersInit | Readonly<Record<string, string | readonly string[] | undefined>> | undefined;
  readonly body?: string | URLSearchParams | null | undefined;
}

/**
 * The stored form of a request: upper-case method, absolute URL, lower-case headers, text body. Refuses
 * credentials (they would be stored: credential headers, userinfo and credential query parameters in the
 * URL, see `assertNoCredentials`) and bodies that are not text (they could not be re-sent as bytes).
 */
export function envelopeOf(parts: RequestParts): HttpRequestEnvelope {
  const headers: Record<string, string> = {};
  const raw = parts.headers;
  if (raw instanceof Headers || Array.isArray(raw)) {
    for (const [name, value] of new Headers(raw)) headers[name.toLowerCase()] = value;
  } else if (raw !== undefined) {
    for (const [name, value] of Object.entries(raw)) {
      if (value !== undefined)
        headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    }
  }
  let body: string | null = null;
  if (parts.body instanceof URLSearchParams) {
    body = parts.body.toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
  } else if (typeof parts.body === 'string') {
    body = parts.body;
  } else if ((parts.body as unknown) !== null && (parts.body as unknown) !== undefined) {
    // JavaScript callers can pass anything.
    throw new ConfigurationError(
      'the request body must be text (a string or URLSearchParams) so it can be stored and re-sent',
    );
  }
  const envelope = {
    method: (parts.method ?? 'GET').toUpperCase(),
    url: new URL(parts.url).toString(),
    headers,
    body,
  };
  assertNoCredentials(envelope);
  return envelope;
}

/** A fetch `Response`'s status, headers (set-cookie dropped) and body text. */
export async function answerOf(response: Response): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  for (const [name, value] of response.headers) if (name !== 'set-cookie') headers[name] = value;
  return { status: response.status, headers, body: await response.text() };
}

/** A `Response` for a stored answer. */
export function responseOf(answer: HttpAnswer): Response {
  const nullBody = answer.status === 204 || answer.status === 205 || answer.status === 304;
  return new Response(nullBody ? null : answer.body, { status: answer.status, headers: answer.headers });
}

/** Credentials and other per-send headers: never stored, applied to every send and lookup. */
export type HeaderSource =
  | Readonly<Record<string, string>>
  | (() => Readonly<Record<string, string>> | Promise<Readonly<Record<string, string>>>);

export async function resolveHeaders(
  source: HeaderSource | undefined,
): Promise<Readonly<Record<string, string>>> {
  if (source === undefined) return {};
  return typeof source === 'function' ? source() : source;
}

/**
 * Whose credentials a `headers` function returns:
 * - `shared`: one account for every call (the function only reads a secret lazily, to follow rotation);
 * - `per-call`: they may differ per call (one tenant's key, another's): every write must then carry a
 *   `scope`, so two tenants never share an idempotency key and one can never receive another's result.
 */
export type CredentialScope = 'shared' | 'per-call';

/** What the fetch wrapper and the interceptor declare about the headers they attach. */
export interface HeaderDeclaration {
  readonly headers?: HeaderSource | undefined;
  readonly origin?: string | readonly string[] | undefined;
  readonly credentialScope?: CredentialScope | undefined;
}

/**
 * Checks at declaration that attached headers go only to declared origins and that a `headers` function
 * says whose credentials it returns. Returns whether each write must carry its own scope.
 */
export function checkHeaderDeclaration(where: string, declaration: HeaderDeclaration): boolean {
  const { headers, origin, credentialScope } = declaration;
  // JavaScript callers can pass anything.
  const scope: unknown = credentialScope;
  if (scope !== undefined && scope !== 'shared' && scope !== 'per-call') {
    throw new ConfigurationError(`${where}: credentialScope must be 'shared' or 'per-call'`);
  }
  if (headers === undefined) return credentialScope === 'per-call';
  if (origin === undefined) {
    throw new ConfigurationError(
      `${where}: \`headers\` are attached to every send, so declare the \`origin\` they may go to ` +
        "(e.g. origin: 'https://api.stripe.com'); nothing is then sent anywhere else",
    );
  }
  if (typeof headers === 'function' && credentialScope === undefined) {
    throw new ConfigurationError(
      `${where}: a \`headers\` function may return different credentials per call: declare ` +
        "credentialScope: 'per-call' (every write then carries its tenant's `scope`) or 'shared' " +
        '(one account for every call)',
    );
  }
  return credentialScope === 'per-call';
}

/** The scope of one write, refused before anything is reserved when per-call credentials need one. */
export function writeScope(scope: string | undefined, required: boolean): string | undefined {
  if (required && (scope === undefined || scope === '')) {
    throw new InvalidKeyInputError(
      "credentials differ per call (credentialScope: 'per-call'): every write needs a `scope` naming " +
        'whose credentials it uses, so two tenants never share a key',
    );
  }
  return scope;
}
