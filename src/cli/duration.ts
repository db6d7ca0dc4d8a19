import { UsageError } from './args.ts';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Parses a duration: a whole number of milliseconds, or parts like `90s`, `15m`, `1h30m`, `7d`, `2w`.
 * Throws a usage error naming `what` otherwise.
 */
export function parseDuration(input: unknown, what: string): number {
  if (typeof input === 'number') {
    if (Number.isSafeInteger(input) && input >= 0) return input;
    throw new UsageError(`${what} must be a non-negative whole number of ms, got ${String(input)}`);
  }
  if (typeof input !== 'string') throw new UsageError(`${what} must be a duration such as 30s, 15m, 7d`);
  const text = input.trim();
  if (/^\d+$/.test(text)) return parseDuration(Number(text), what);
  const parts = /^(?:\d+(?:ms|s|m|h|d|w))+$/.test(text) ? [...text.matchAll(/(\d+)(ms|s|m|h|d|w)/g)] : [];
  if (parts.length === 0) {
    throw new UsageError(
      `${what} must be a duration such as 500ms, 30s, 15m, 1h30m, 7d; got ${JSON.stringify(input)}`,
    );
  }
  let total = 0;
  for (const [, amount, unit] of parts) total += Number(amount) * (UNIT_MS[unit ?? ''] ?? Number.NaN);
  if (!Number.isSafeInteger(total)) throw new UsageError(`${what} is too large: ${JSON.stringify(input)}`);
  return total;
}

/** `7d`, `1d 12h`, `2h 5m`, `45s`, `250ms`: at most the two largest units (days at most). */
export function formatDuration(ms: number): string {
  // Profiles of naturally idempotent APIs remember "forever" (Number.MAX_SAFE_INTEGER).
  if (ms >= Number.MAX_SAFE_INTEGER) return 'forever';
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = ms;
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit] ?? 1;
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  if (rest > 0 && parts.length < 2 && rest < 1000) parts.push(`${rest}ms`);
  return parts.join(' ');
}
