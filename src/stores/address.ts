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
 * Takes one of retrysafe's own parameters (`schema`, `prefix`, `replicaAcks`, ...) out of a URL, which
 * then goes to the driver with every other parameter (`sslmode=…`) untouched. A parameter given twice
 * is refused; `emptyIsAbsent` reads `?prefix=` as not given (a number or boolean must have a value).
 */
export function takeParameter(url: URL, name: string, emptyIsAbsent = true): string | undefined {
  const values = url.searchParams.getAll(name);
  url.searchParams.delete(name);
  if (values.length > 1)
    throw new ConfigurationError(`store parameter ${name} is given ${values.length} times`);
  const value = values[0];
  return value === '' && emptyIsAbsent ? undefined : value;
}

/** A `true` / `false` parameter, taken out of the URL. */
export function takeBoolean(url: URL, name: string): boolean | undefined {
  const value = takeParameter(url, name, false);
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new ConfigurationError(`store parameter ${name} must be true or false, got ${JSON.stringify(value)}`);
}

/** A whole-number parameter of at least `min`, taken out of the URL. */
export function takeInteger(url: URL, name: string, min: number): number | undefined {
  const value = takeParameter(url, name, false);
  if (value === undefined) return undefined;
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min) {
    throw new ConfigurationError(
      `store parameter ${name} must be a whole number >= ${min}, got ${JSON.stringify(value)}`,
    );
  }
  return number;
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
