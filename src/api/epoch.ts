/**
 * A coarse clock for the export wrappers: reading the real clock costs ~50 ns (more than the
 * rest of a wrapped call), but an allocation's time only has to be fresh when the host calls
 * into wasm after being idle. A shared timer bumps `epoch` every EPOCH_MS while any detector is
 * alive; a wrapper samples the engine's clock only when the epoch moved since its last call.
 * Timers only fire while the host is idle, which is exactly when time passes unseen; during a
 * long synchronous run the engine samples its own clock every few allocations.
 *
 * Invariants: at most one timer, unref'd in Node (never keeps a process alive), stopped when the
 * last user releases it; reading the epoch allocates nothing. Staleness is at most EPOCH_MS.
 */
export const EPOCH_MS = 100;

let epoch = 0;
let users = 0;
let timer: ReturnType<typeof setInterval> | null = null;

export function currentEpoch(): number {
  return epoch;
}

export function acquireEpoch(): void {
  if (users++ > 0) return;
  timer = setInterval(() => {
    epoch = (epoch + 1) | 0;
  }, EPOCH_MS);
  const t = timer as unknown as { unref?: () => void };
  if (typeof t.unref === 'function') t.unref();
}

export function releaseEpoch(): void {
  if (users === 0 || --users > 0) return;
  if (timer) clearInterval(timer);
  timer = null;
}
