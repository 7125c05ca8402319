/**
 * Why: capturing a JS stack costs microseconds, allocations happen millions of times, and most
 * come from a few call paths. The rewriter's instrumentation hands each allocation hook a 64-bit
 * calling-context key (ctxLo, ctxHi) that identifies its call path; this map turns a key into
 * the stack-depot handle captured the first time that key was seen.
 *
 * Invariants: open addressing with linear probing over typed arrays; no JS object is created on
 * `get` or on a `set` that does not grow; the load factor stays at or below 1/2; a stored handle
 * is kept as handle + 1 so that 0 marks an empty slot and every u32 key pair (0,0 included) is
 * a valid key.
 */
export class ContextCache {
  private mask: number;
  private lo: Uint32Array;
  private hi: Uint32Array;
  private val: Uint32Array;
  private used = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity) cap <<= 1;
    this.mask = cap - 1;
    this.lo = new Uint32Array(cap);
    this.hi = new Uint32Array(cap);
    this.val = new Uint32Array(cap);
  }

  get size(): number { return this.used; }

  private static slot(lo: number, hi: number, mask: number): number {
    let h = Math.imul(lo ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi + 0x7f4a7c15, 0xc2b2ae35);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 13;
    return h & mask;
  }

  /** The handle stored for the key, or -1. */
  get(lo: number, hi: number): number {
    lo >>>= 0; hi >>>= 0;
    const mask = this.mask;
    let i = ContextCache.slot(lo, hi, mask);
    for (;;) {
      const v = this.val[i]!;
      if (v === 0) return -1;
      if (this.lo[i] === lo && this.hi[i] === hi) return v - 1;
      i = (i + 1) & mask;
    }
  }

  set(lo: number, hi: number, handle: number): void {
    lo >>>= 0; hi >>>= 0;
    if ((this.used + 1) * 2 > this.mask + 1) this.grow();
    const mask = this.mask;
    let i = ContextCache.slot(lo, hi, mask);
    for (;;) {
      const v = this.val[i]!;
      if (v === 0) { this.used++; break; }
      if (this.lo[i] === lo && this.hi[i] === hi) break;
      i = (i + 1) & mask;
    }
    this.lo[i] = lo;
    this.hi[i] = hi;
    this.val[i] = (handle + 1) >>> 0;
  }

  private grow(): void {
    const { lo, hi, val } = this;
    const cap = (this.mask + 1) * 2;
    this.mask = cap - 1;
    this.lo = new Uint32Array(cap);
    this.hi = new Uint32Array(cap);
    this.val = new Uint32Array(cap);
    this.used = 0;
    for (let j = 0; j < val.length; j++) if (val[j] !== 0) this.set(lo[j]!, hi[j]!, val[j]! - 1);
  }
}
