import { ConfigurationError } from '../errors/errors.ts';
import type { HttpAnswer, HttpRequestEnvelope } from '../providers/types.ts';
import { SECRET_HEADERS } from './http-operation.ts';

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
 * credentials (they would be stored) and bodies that are not text (they could not be re-sent as bytes).
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
  for (const name of Object.keys(headers)) {
    if (SECRET_HEADERS.has(name)) {
      throw new ConfigurationError(
        `the ${name} header would be stored with the request: pass credentials through the integration's ` +
          '`headers` option, which is applied at send time and never stored',
      );
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
  return { method: (parts.method ?? 'GET').toUpperCase(), url: new URL(parts.url).toString(), headers, body };
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
