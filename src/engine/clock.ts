/**
 * kmemleak's jiffies: milliseconds since the detector started, as a u32.
 *
 * Reading a clock costs ~25 ns, so the allocation hook does not: it takes `jiffies`, the value
 * sampled last, and the sample is refreshed every `every` allocations (and early-pool records),
 * at every setContext (each entry of the host into the program), at tick(), and at every scan
 * start.
 * Bound: an object's creation time is the clock at the last sample, i.e. earlier than the truth by
 * at most the time the program spent since that sample: the time of at most `every` - 1 earlier
 * allocations within the same entry into the program (microseconds for an allocating program;
 * a program that computes for long between allocations without returning to the host can see
 * more; the adapter may call tick() on host calls to bound it further). A scan's start time is
 * always a fresh read, and samples never go backwards, so ages are never negative; an object can
 * only look older than it is, never younger.
 */

import { mutableFields } from './v8-fields.js';

export class Clock {
  /** The last sampled value. */
  jiffies = 0;
  /** Hook calls left before the next sample. */
  left: number;
  private readonly t0: number;

  constructor(
    private readonly now: () => number,
    readonly every: number,
  ) {
    this.t0 = now();
    this.left = every;
    mutableFields(this, ['jiffies', 'left']);
  }

  /** Samples the clock now and returns the new value. */
  refresh(): number {
    this.left = this.every;
    const ms = Math.floor(this.now() - this.t0);
    // `>>> 0`, not `% 2^32`: the same u32 for a count of milliseconds, but a small integer (a V8
    // Smi) where `%` made a double, which turned the field (and Epochs' copy) into a double field
    // once the engine's allocation path was optimised: a deoptimisation and recompile each.
    const j = ms > 0 ? ms >>> 0 : 0;
    // Monotone, modulo the u32 wrap (49.7 days).
    if (((j - this.jiffies) | 0) > 0) this.jiffies = j;
    return this.jiffies;
  }

  /** The creation time for one hook call. */
  stamp(): number {
    if (--this.left <= 0) this.refresh();
    return this.jiffies;
  }
}

/** The default clock: performance.now() where available (monotonic), else Date.now(). */
export function defaultNow(): () => number {
  const p = (globalThis as { performance?: { now(): number } }).performance;
  return p && typeof p.now === 'function' ? () => p.now() : () => Date.now();
}
