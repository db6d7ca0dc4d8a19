import { ConfigurationError } from './errors/errors.ts';

/**
 * A source of the current time in milliseconds since the epoch. The library reads time through one
 * where a test may want to move it (`retrysafe({ clock })`, `sqliteStore({ clock })`); give both the
 * same clock, so that stored times and the times they are compared with agree.
 *
 * @example
 * ```ts
 * let now = Date.now();
 * const clock: Clock = { now: () => now };
 * now += 31_000; // a 30 s lease has lapsed, without sleeping
 * ```
 */
export interface Clock {
  now(): number;
}

/** The process clock (`Date.now()`): the default. */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/**
 * Checks a clock given as an option, and wraps it so that each reading is checked too: a time that is
 * not a whole, non-negative number of milliseconds would be stored and compared as one.
 */
export function checkedClock(clock: Clock | undefined, owner: string): Clock {
  if (clock === undefined) return systemClock;
  if (typeof (clock as Partial<Clock> | null)?.now !== 'function') {
    throw new ConfigurationError(`${owner}: clock must be an object with a now() method`);
  }
  return {
    now: () => {
      const now = clock.now();
      if (!Number.isSafeInteger(now) || now < 0) {
        throw new ConfigurationError(
          `${owner}: clock.now() must return whole milliseconds since the epoch, got ${String(now)}`,
        );
      }
      return now;
    },
  };
}
