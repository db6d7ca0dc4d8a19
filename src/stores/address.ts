import { ConfigurationError } from '../errors/errors.ts';
import { isCredentialParameter } from '../integrations/credentials.ts';

/** Query parameters of a store address that carry secrets, besides the credential names integrations refuse. */
const SECRET_ADDRESS_PARAMETERS = new Set(['sslpassword', 'pass', 'user_password']);

/** The addresses every built-in store takes, for messages that say what would have worked. */
export const ADDRESS_FORMS = 'sqlite:PATH, postgres://… or redis://…';

/** Parses a URL-form address (`postgres://…`, `redis://…`), refusing what is not one. */
export function addressUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new ConfigurationError(`unrecognised store address ${JSON.stringify(text)}: use ${ADDRESS_FORMS}`);
  }
}

/**
 * Takes retrysafe's own parameters (`schema`, `prefix`) out of a URL, which then goes to the driver with
 * every other parameter (`sslmode=…`) untouched. An empty value counts as not given.
 */
export function takeParameters<const N extends string>(
  url: URL,
  names: readonly N[],
): { readonly [P in N]?: string } {
  const taken: Partial<Record<N, string>> = {};
  for (const name of names) {
    const value = url.searchParams.get(name);
    url.searchParams.delete(name);
    if (value !== null && value !== '') taken[name] = value;
  }
  return taken;
}

/** Refuses a parameter a non-URL address (`sqlite:…?x=`) does not know: nothing else would read it. */
export function onlyKnownParameters(params: URLSearchParams, allowed: readonly string[], kind: string): void {
  for (const name of params.keys()) {
    if (!allowed.includes(name)) {
      throw new ConfigurationError(`unknown ${kind} store parameter ${JSON.stringify(name)}`);
    }
  }
}

/**
 * A URL without credentials, for messages and `--json` output: the password masked, a lone user name
 * masked too (some clients read it as a password or token), and every credential-looking query parameter
 * (`?password=`, `?token=`, `?sslpassword=`) masked.
 */
export function maskedUrl(text: string): string {
  const url = new URL(text);
  if (url.password !== '') url.password = '***';
  else if (url.username !== '') url.username = '***';
  for (const name of new Set(url.searchParams.keys())) {
    if (isCredentialParameter(name) || SECRET_ADDRESS_PARAMETERS.has(name.toLowerCase())) {
      url.searchParams.set(name, '***');
    }
  }
  return url.toString();
}
