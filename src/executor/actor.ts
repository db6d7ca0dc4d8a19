import { ConfigurationError } from '../errors/errors.ts';

/** The identities the library writes audit entries under itself; no person may take them. */
const LIBRARY_ACTORS: ReadonlySet<string> = new Set(['executor', 'reconciler']);

/** Control, format (zero-width, bidi), surrogate, private-use and unassigned code points. */
const INVISIBLE = /\p{C}/u;

/**
 * The one form of a person's identity that audit entries store and the four-eyes rules compare: trimmed,
 * Unicode NFKC, case-folded, inner whitespace collapsed. `alice`, `"alice "`, `Alice` and `ａｌｉｃｅ`
 * (fullwidth) are one person, so nobody approves their own override or resolution by spelling their
 * name differently. Refuses (typed, before anything is stored) an empty identity, one with control or
 * invisible characters (a zero-width space would make a second "alice" that looks the same), and the
 * library's own actor names.
 *
 * These identities are what the caller says, not authenticated: the rule stops mistakes and casual
 * self-approval, not a caller who can name anybody (see docs/security.md).
 *
 * @example
 * ```ts
 * normalizeActor('by', ' Alice ') === normalizeActor('by', 'alice'); // true
 * normalizeActor('by', 'ali\u200bce'); // throws ConfigurationError
 * ```
 */
export function normalizeActor(what: string, value: unknown): string {
  if (typeof value !== 'string') throw new ConfigurationError(`${what} must be a string`);
  // NFKC, then a full case fold (upper then lower maps ß to ss as folding does), then NFKC again,
  // because case mapping can leave a string that is not in normal form.
  const folded = value.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC');
  const trimmed = folded.trim();
  if (trimmed === '') throw new ConfigurationError(`${what} must name a person (it is empty)`);
  if (INVISIBLE.test(folded)) {
    throw new ConfigurationError(
      `${what} contains control or invisible characters: ${JSON.stringify(value)}`,
    );
  }
  const collapsed = trimmed.replaceAll(/\s+/gu, ' ');
  if (LIBRARY_ACTORS.has(collapsed)) {
    throw new ConfigurationError(`${what} ${JSON.stringify(value)} is the library's own audit identity`);
  }
  return collapsed;
}
