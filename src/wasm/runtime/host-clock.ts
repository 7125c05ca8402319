/**
 * Why: a monotonic clock in milliseconds that does not cost a start. In Node, reading the global
 * `performance` (even `typeof performance`) loads node:perf_hooks, ~2 ms of every run's start;
 * process.hrtime reads the same monotonic clock without it. Elsewhere (browsers) performance.now().
 * The origin is arbitrary: callers subtract.
 */
function hrNow(): number {
  const t = process.hrtime();
  return t[0] * 1e3 + t[1] / 1e6;
}

export const hostNow: () => number = typeof process !== 'undefined' && typeof process.hrtime === 'function'
  ? hrNow
  : () => performance.now();
