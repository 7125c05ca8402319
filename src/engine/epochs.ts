/**
 * Creation time (jiffies) and context (comm/pid id) of objects, kept per run of creations rather
 * than per object: an epoch starts at the creation sequence number of the first object created
 * with a new (jiffies, context) pair, and every later object belongs to the newest epoch whose
 * start is at or before its own sequence number.
 *
 * Why: an allocating program creates many objects within one millisecond of one context (the
 * clock is sampled every few dozen allocations), so 6 bytes per object (a u32 time, a u16
 * context) shrink to a few bytes per epoch; at 10M live objects this is what keeps the object
 * table under 32 bytes per object (issue 2).
 *
 * Invariants:
 * - Epoch starts are increasing modulo 2^32, measured from `base` (the oldest kept start): exact
 *   while no live object is older than 2^32 creations (the table's own limit for `seq`).
 * - An object with sequence number q belongs to epoch e = the last one with start <= q. Objects
 *   re-created by free_part keep their original sequence number, hence their original epoch.
 * - compact(isLive) keeps only epochs that a live object belongs to (a kept epoch then also covers
 *   the ranges of the dropped ones after it, where no live object lies). The owner calls it when
 *   the table outgrows its bound; the bound doubles with what compaction could not drop, so the
 *   cost stays amortised O(1) per creation.
 */

import { mutableFields } from './v8-fields.js';

const INITIAL = 256;
/** Compact once there are more epochs than this (and than the owner's share per live object). */
const MIN_LIMIT = 4096;

export class Epochs {
  private start = new Uint32Array(INITIAL);
  private time = new Uint32Array(INITIAL);
  private ctx = new Uint16Array(INITIAL);
  private n = 0;
  private lastTime = -1;
  private lastCtx = -1;
  private limit = MIN_LIMIT;

  constructor() {
    mutableFields(this, ['start', 'time', 'ctx', 'n', 'lastTime', 'lastCtx', 'limit']);
  }

  get count(): number {
    return this.n;
  }

  get bytes(): number {
    return this.start.byteLength + this.time.byteLength + this.ctx.byteLength;
  }

  /** True when compact() is due (more epochs than the limit and than `live / 4`). */
  due(live: number): boolean {
    return this.n > this.limit && this.n > live >>> 2;
  }

  /** The object with sequence number seq is created at `time` in context `ctx`. */
  note(seq: number, time: number, ctx: number): void {
    if (time === this.lastTime && ctx === this.lastCtx) return;
    if (this.n === this.start.length) this.resize(this.n * 2);
    this.start[this.n] = seq;
    this.time[this.n] = time;
    this.ctx[this.n] = ctx;
    this.n++;
    this.lastTime = time;
    this.lastCtx = ctx;
  }

  /** The epoch of sequence number seq (-1 before the first epoch: cannot happen for a live object). */
  private find(seq: number): number {
    const start = this.start;
    const base = start[0];
    const key = (seq - base) >>> 0;
    let lo = 0;
    let hi = this.n - 1;
    if (hi < 0 || key >= 0x80000000) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (((start[mid] - base) >>> 0) <= key) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  timeOf(seq: number): number {
    const e = this.find(seq);
    return e < 0 ? 0 : this.time[e];
  }

  ctxOf(seq: number): number {
    const e = this.find(seq);
    return e < 0 ? 0 : this.ctx[e];
  }

  /**
   * Drops the epochs no live object belongs to. `forEachLiveSeq(visit)` calls visit with the
   * sequence number of every live object.
   */
  compact(forEachLiveSeq: (visit: (seq: number) => void) => void): void {
    const used = new Uint8Array(this.n);
    forEachLiveSeq((seq) => {
      const e = this.find(seq);
      if (e >= 0) used[e] = 1;
    });
    let m = 0;
    for (let e = 0; e < this.n; e++) {
      // The newest epoch stays: new objects may still join it (note() compares against it).
      if (!used[e] && e !== this.n - 1) continue;
      this.start[m] = this.start[e];
      this.time[m] = this.time[e];
      this.ctx[m] = this.ctx[e];
      m++;
    }
    this.n = m;
    this.limit = Math.max(MIN_LIMIT, 2 * m);
    if (this.start.length > 4 * Math.max(m, INITIAL)) this.resize(Math.max(2 * m, INITIAL));
  }

  private resize(cap: number): void {
    const grow = <T extends Uint32Array | Uint16Array>(a: T, b: T): T => {
      b.set(a.subarray(0, Math.min(this.n, cap)));
      return b;
    };
    this.start = grow(this.start, new Uint32Array(cap));
    this.time = grow(this.time, new Uint32Array(cap));
    this.ctx = grow(this.ctx, new Uint16Array(cap));
  }

  clear(): void {
    this.start = new Uint32Array(INITIAL);
    this.time = new Uint32Array(INITIAL);
    this.ctx = new Uint16Array(INITIAL);
    this.n = 0;
    this.lastTime = -1;
    this.lastCtx = -1;
    this.limit = MIN_LIMIT;
  }
}
