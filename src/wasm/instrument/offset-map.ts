/**
 * The exact map from byte offsets of the rewritten module back to the original module.
 *
 * Why: V8 reports frames as `wasm-function[N]:0xOFF` with OFF a byte offset in the module it
 * ran (the rewritten one); the name section, DWARF and source maps describe the original. The
 * rewriter copies original code in runs and inserts a little code of its own; this map records
 * each run so every copied byte maps back exactly and every inserted byte maps to the original
 * instruction it precedes (its frame then reads as that instruction, as if the insertion were
 * part of it).
 *
 * Invariants: segment starts are strictly increasing new offsets; segment i covers
 * [newStart[i], newStart[i+1]) (the last one ends at `end`). A linear segment maps
 * new -> origStart + (new - newStart); a fixed segment maps every byte to origStart. Lookups are
 * binary searches over typed arrays: no per-instruction JS objects.
 */

export class OffsetMapBuilder {
  private newStart = new Uint32Array(1024);
  private origStart = new Uint32Array(1024);
  private fixed = new Uint8Array(1024);
  private n = 0;

  private push(newOff: number, origOff: number, isFixed: number): void {
    const n = this.n;
    if (n > 0) {
      const last = n - 1;
      if (this.newStart[last] === newOff) {
        // An empty previous segment: replace it.
        this.origStart[last] = origOff;
        this.fixed[last] = isFixed;
        return;
      }
      // Coalesce a linear segment that continues the previous linear one.
      if (!isFixed && !this.fixed[last] &&
        origOff - this.origStart[last]! === newOff - this.newStart[last]!) return;
    }
    if (n === this.newStart.length) {
      const grow = <T extends Uint32Array | Uint8Array>(a: T, make: (k: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.newStart = grow(this.newStart, (k) => new Uint32Array(k));
      this.origStart = grow(this.origStart, (k) => new Uint32Array(k));
      this.fixed = grow(this.fixed, (k) => new Uint8Array(k));
    }
    this.newStart[n] = newOff;
    this.origStart[n] = origOff;
    this.fixed[n] = isFixed;
    this.n = n + 1;
  }

  /** Bytes from `newOff` on are copies of the original from `origOff` on. */
  linear(newOff: number, origOff: number): void {
    this.push(newOff, origOff, 0);
  }

  /** Bytes from `newOff` on were inserted; they stand for the original instruction at `origOff`. */
  inserted(newOff: number, origOff: number): void {
    this.push(newOff, origOff, 1);
  }

  /** Shifts every recorded new offset by `delta` (segments were recorded relative to a buffer). */
  rebase(delta: number): void {
    for (let i = 0; i < this.n; i++) this.newStart[i]! += delta;
  }

  /** Appends another builder's segments, shifted by `delta`. */
  appendFrom(other: OffsetMapBuilder, delta: number): void {
    for (let i = 0; i < other.n; i++) other.fixed[i] ? this.inserted(other.newStart[i]! + delta, other.origStart[i]!)
      : this.linear(other.newStart[i]! + delta, other.origStart[i]!);
  }

  clear(): void {
    this.n = 0;
  }

  get count(): number {
    return this.n;
  }

  build(start: number, end: number): OffsetMap {
    return new OffsetMap(this.newStart.slice(0, this.n), this.origStart.slice(0, this.n), this.fixed.slice(0, this.n),
      start, end);
  }
}

export interface OffsetMapData {
  newStart: Uint32Array;
  origStart: Uint32Array;
  fixed: Uint8Array;
  start: number;
  end: number;
}

export class OffsetMap {
  constructor(
    private readonly newStart: Uint32Array,
    private readonly origStart: Uint32Array,
    private readonly fixed: Uint8Array,
    /** First mapped new offset (start of the code section content). */
    readonly start: number,
    /** End of the mapped range (end of the code section). */
    readonly end: number,
  ) {}

  /** The map as plain data (for a cache on disk). */
  toData(): OffsetMapData {
    return { newStart: this.newStart, origStart: this.origStart, fixed: this.fixed, start: this.start, end: this.end };
  }

  /** Rebuilds a map from toData(); throws on inconsistent data (a corrupt cache entry). */
  static fromData(d: OffsetMapData): OffsetMap {
    const n = d.newStart.length;
    if (d.origStart.length !== n || d.fixed.length !== n || !(d.start >= 0) || !(d.end >= d.start)) throw new Error('inconsistent offset map');
    for (let i = 1; i < n; i++) if (d.newStart[i]! < d.newStart[i - 1]!) throw new Error('inconsistent offset map');
    return new OffsetMap(d.newStart, d.origStart, d.fixed, d.start, d.end);
  }

  /** Number of segments (for figures). */
  get segments(): number {
    return this.newStart.length;
  }

  /** The original module offset for a module offset of the rewritten module, or -1 outside code. */
  originalOffset(newOffset: number): number {
    if (!(newOffset >= this.start && newOffset < this.end)) return -1;
    const a = this.newStart;
    let lo = 0;
    let hi = a.length - 1;
    if (hi < 0 || newOffset < a[0]!) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (a[mid]! <= newOffset) lo = mid;
      else hi = mid - 1;
    }
    return this.fixed[lo] ? this.origStart[lo]! : this.origStart[lo]! + (newOffset - a[lo]!);
  }
}
