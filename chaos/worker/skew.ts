/**
 * Worker clock skew without faketime: imported first by the worker, it shifts this process's
 * `Date.now()` by `CHAOS_CLOCK_SKEW_MS` (positive: the worker's clock runs ahead). Everything in the
 * process that reads the time through `Date.now` (the library's local lease bookkeeping, SQLite lease
 * stamps) sees the skewed clock; timers are unaffected, as they would be on a host with a wrong clock.
 */
const skew = Number(process.env['CHAOS_CLOCK_SKEW_MS'] ?? '0');
if (Number.isFinite(skew) && skew !== 0) {
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + skew;
}
export {};
