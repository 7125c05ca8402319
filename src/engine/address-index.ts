/**
 * "Which object contains address A": the interval index the scanner consults for every word
 * that passes the min/max filter. Built at scan start from the live objects (kmemleak's rbtree,
 * frozen for one scan): the live slots in address order (`ord`), then a page table over the
 * covered range that maps each page to the first entry that may contain an address in it, so a
 * lookup is one page-table read plus a short forward walk over adjacent entries.
 *
 * Lean by design (issue 12, peak memory at 10M objects): an entry is only its slot id, 4 bytes,
 * plus a byte of colour (`need`); its bounds are read from the object table's start and size
 * columns, which do not change while the slot is live (and the table parks freed slots until the
 * scan ends, so a slot id in the snapshot never names another object during it). The entry index
 * e of an object is its rank in address order.
 *
 * Offsets: an entry's start and end are used as offsets from `lo` (the lowest live start). While
 * span < 2^31 (`small`) they are non-negative int32 and the scanner compares them with int32
 * arithmetic (V8 keeps int32 in registers; u32 values >= 2^31 become slow doubles); otherwise
 * they are read back as unsigned on a slower path. `need` is the scan's colour state: the
 * references still missing before the object turns grey (> 0: white; 0: grey, black, freed, or
 * turned grey by the checksum pass). The scanner writes counts back to the table at the end.
 *
 * Invariants:
 * - Intervals are disjoint and sorted by start. Overlaps found while building are resolved by
 *   dropping the newer object (the caller warns and untracks it).
 * - An object's interval is [start, start + max(size, 1)), capped at 2^32: a pointer equal to
 *   the start of a zero-sized block still references it.
 * - An address is in no object unless d = (A - lo) mod 2^32 < span (the min/max filter); the last
 *   entry ends exactly at span, so a walk for any d < span stops at an entry.
 * - page[p] & PAGE_INDEX_MASK = first entry e whose end > p * 2^shift; the walk from there stops
 *   at the first entry ending after d, the only one that can contain it.
 * - whiteBits has a bit set for every granule that a white object overlaps (the scanner keeps it:
 *   sets on whitening, clears the granules entirely inside an object that stops being white).
 * - Objects created after the build are not in it (kmemleak: objects created during a scan are
 *   not coloured by it). Entries keep slot ids; the caller checks that they are still live.
 * Memory: 5 bytes an entry (+1/8 slack), about 2 for the page table, 0.5 for the white bitmap.
 * The sort needs no scratch of its own: a counting sort by page puts the slots into `ord`, the
 * page table's array holding the counts, and each page's few slots are then sorted in place
 * (a crowded page through a scratch of its own size).
 */

import { F_ALLOCATED, type ObjectTable } from './object-table.js';
import type { ScanScratch } from './scan-scratch.js';

/** A page word is the page's first entry index (the low 26 bits; higher bits are zero). */
export const PAGE_INDEX_MASK = (1 << 26) - 1;
/** Granules of the white bitmap per page, as a shift (about 8 bits per two objects). */
const GRANULE_PER_PAGE_SHIFT = 3;
const RADIX_BITS = 11;
/** Pages holding more objects than this are radix sorted; fewer, by insertion. */
const INSERTION_MAX = 24;
/** The end of a 4 GiB memory: where object ends are clipped. */
const MEM_END = 2 ** 32;

export class AddressSnapshot {
  n = 0;
  /** Entry e's table slot: the live slots in address order. */
  ord: Uint32Array = new Uint32Array(0);
  /** Entry e's colour state during a scan (see the header). */
  need: Uint8Array = new Uint8Array(0);
  page: Int32Array = new Int32Array(1);
  /** Pages in use: page[0, pages) (the array may be longer, reused from an earlier build). */
  pages = 1;
  /**
   * The scanner's white bitmap, one bit per granule of 2^gshift bytes of offset (about 4 bits an
   * object, small enough for L2 on 1M objects): a clear bit means no white object covers any
   * byte of the granule, so a word pointing there is rejected without touching the index. Set
   * bits may be stale (conservative): a granule shared by two objects stays set. Zero after build().
   */
  whiteBits: Int32Array = new Int32Array(1);
  gshift = 31;
  shift = 31;
  lo = 0;
  span = 0;
  /** span < 2^31: offsets are non-negative int32 (the scanner's fast path). */
  small = true;
  /** The table's start and size columns as the build saw them, viewed as int32 (see refresh). */
  start32 = new Int32Array(0);
  size32 = new Int32Array(0);
  private counts = new Uint32Array(0);

  get bytes(): number {
    return this.ord.byteLength + this.need.byteLength + this.page.byteLength + this.whiteBits.byteLength;
  }

  /**
   * Rebuilds from the table's live objects. `dropOverlap(kept, dropped)` is called for each
   * object left out because it overlaps an older one. Every entry's `need` is 0. With `scratch`
   * the arrays are carved from it (largest first), not kept from an earlier build.
   */
  build(t: ObjectTable, dropOverlap: (kept: number, dropped: number) => void, scratch?: ScanScratch): void {
    this.refresh(t);
    const { flags, start, size } = t;
    const hi = t.hi;
    // One pass: how many, the bounds, and whether slot order is already address order.
    let live = 0;
    let lo = 0xffffffff;
    let maxEnd = 0;
    let prev = -1;
    let inOrder = true;
    for (let s = 0; s < hi; s++) {
      if (!(flags[s] & F_ALLOCATED)) continue;
      const st = start[s];
      if (st <= prev) inOrder = false;
      prev = st;
      if (st < lo) lo = st;
      const e = endOf(st, size[s]);
      if (e > maxEnd) maxEnd = e;
      live++;
    }
    if (scratch) {
      this.ord = scratch.u32(live);
    } else if (this.ord.length < live) {
      const cap = Math.max(64, live + (live >>> 3));
      this.ord = new Uint32Array(cap);
      this.need = new Uint8Array(cap);
    }
    const ord = this.ord;
    if (live === 0) {
      this.n = 0;
      this.lo = 0;
      this.span = 0;
      this.small = true;
      this.emptyPages();
      return;
    }
    const shift = pageShift(maxEnd - lo, live);
    const pages = Math.floor((maxEnd - lo - 1) / 2 ** shift) + 1;
    const page = scratch
      ? scratch.i32(pages)
      : this.page.length >= pages && this.page.length <= 2 * pages + 64 ? this.page : new Int32Array(pages);
    if (scratch) this.need = scratch.u8(live);
    if (inOrder) {
      for (let s = 0, i = 0; s < hi; s++) if (flags[s] & F_ALLOCATED) ord[i++] = s;
    } else {
      this.sortByPage(t, lo, shift, pages, page, live);
    }
    // The common case in one pass: no overlap, the page table filled on the way.
    let m = live;
    let lastEnd = disjointPages(ord, start, size, lo, live, page, shift);
    if (lastEnd < 0) {
      m = dropOverlaps(t, ord, live, dropOverlap);
      // Disjoint and sorted now: the last entry ends last.
      lastEnd = endOf(start[ord[m - 1]], size[ord[m - 1]]);
      fillPages(page, Math.floor((lastEnd - lo - 1) / 2 ** shift) + 1, shift, ord, start, size, lo, m);
    }
    this.n = m;
    this.lo = lo;
    this.span = lastEnd - lo;
    this.small = this.span < 0x80000000;
    this.need.fill(0, 0, m);
    this.shift = shift;
    this.page = page;
    this.pages = Math.floor((this.span - 1) / 2 ** shift) + 1;
    const gshift = shift > GRANULE_PER_PAGE_SHIFT ? shift - GRANULE_PER_PAGE_SHIFT : 0;
    const granules = Math.floor((this.span - 1) / 2 ** gshift) + 1;
    const words = Math.ceil(granules / 32);
    this.gshift = gshift;
    if (scratch) this.whiteBits = scratch.i32(words);
    else if (this.whiteBits.length < words || this.whiteBits.length > 2 * words + 64) this.whiteBits = new Int32Array(words);
    else this.whiteBits.fill(0);
  }

  /** Int32 views of the table's start and size columns (the table replaces them as it grows). */
  refresh(t: ObjectTable): void {
    if (this.start32.buffer !== t.start.buffer || this.start32.length !== t.start.length) {
      this.start32 = new Int32Array(t.start.buffer, t.start.byteOffset, t.start.length);
    }
    if (this.size32.buffer !== t.size.buffer || this.size32.length !== t.size.length) {
      this.size32 = new Int32Array(t.size.buffer, t.size.byteOffset, t.size.length);
    }
  }

  /**
   * The live slots into ord[0, live), sorted by start: a counting sort by page (the counts in
   * `page`), then each page's slots sorted by start.
   */
  private sortByPage(t: ObjectTable, lo: number, shift: number, pages: number, page: Int32Array, live: number): void {
    const { flags, start } = t;
    const ord = this.ord;
    const hi = t.hi;
    page.fill(0, 0, pages);
    const sh = shift;
    for (let s = 0; s < hi; s++) if (flags[s] & F_ALLOCATED) page[(start[s] - lo) >>> sh]++;
    let sum = 0;
    let crowded = 0;
    for (let p = 0; p < pages; p++) {
      const c = page[p];
      if (c > crowded) crowded = c;
      page[p] = sum;
      sum += c;
    }
    for (let s = 0; s < hi; s++) if (flags[s] & F_ALLOCATED) ord[page[(start[s] - lo) >>> sh]++] = s;
    // page[p] is now the end of page p's slots (the start of p + 1's).
    let scratch: Uint32Array | null = null;
    if (crowded > INSERTION_MAX) scratch = new Uint32Array(4 * crowded);
    for (let p = 0, a = 0; p < pages; p++) {
      const b = page[p];
      if (b - a > INSERTION_MAX) this.radixSortRange(start, a, b, scratch!);
      else if (b - a > 1) insertionSort(ord, start, a, b);
      a = b;
    }
    if (live !== sum) throw new Error('address snapshot: live count changed while building');
  }

  /** Sorts ord[a, b) by start through (start, slot) pairs in `scratch` (LSD radix, 11-bit digits). */
  private radixSortRange(start: Uint32Array, a: number, b: number, scratch: Uint32Array): void {
    const ord = this.ord;
    const n = b - a;
    let min = 0xffffffff;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const key = start[ord[a + i]];
      scratch[2 * i] = key;
      scratch[2 * i + 1] = ord[a + i];
      if (key < min) min = key;
      if (key > max) max = key;
    }
    if (this.counts.length === 0) this.counts = new Uint32Array(1 << RADIX_BITS);
    let bits = 1;
    while (bits < 32 && (max - min) / 2 ** bits >= 1) bits++;
    const passes = Math.ceil(bits / RADIX_BITS);
    let from = 0;
    for (let pass = 0; pass < passes; pass++) {
      const to = from === 0 ? 2 * n : 0;
      radixPass(scratch, from, to, n, pass * RADIX_BITS, min, this.counts);
      from = to;
    }
    for (let i = 0; i < n; i++) ord[a + i] = scratch[from + 2 * i + 1];
  }

  private emptyPages(): void {
    this.shift = 31;
    this.page = new Int32Array(1);
    this.pages = 1;
    this.whiteBits = new Int32Array(1);
    this.gshift = 31;
  }

  /** Entry e's start, as an offset from lo (unsigned). */
  startOf(e: number): number {
    return (this.start32[this.ord[e]] - this.lo) >>> 0;
  }

  /** Entry e's end (exclusive), as an offset from lo (unsigned; up to span). */
  endOf(e: number): number {
    const s = this.ord[e];
    return endOf(this.start32[s] >>> 0, this.size32[s] >>> 0) - this.lo;
  }

  /** Entry containing address a, or -1. */
  lookup(a: number): number {
    const d = (a - this.lo) >>> 0;
    if (d >= this.span) return -1;
    let e = this.page[Math.floor(d / 2 ** this.shift)] & PAGE_INDEX_MASK;
    while (this.endOf(e) <= d) e++;
    return this.startOf(e) <= d ? e : -1;
  }

  slotOf(e: number): number {
    return this.ord[e];
  }

  /** Releases the transient arrays (after `off`, and after the exit scan). */
  clear(): void {
    this.n = 0;
    this.ord = new Uint32Array(0);
    this.need = new Uint8Array(0);
    this.emptyPages();
    this.start32 = new Int32Array(0);
    this.size32 = new Int32Array(0);
    this.counts = new Uint32Array(0);
    this.lo = 0;
    this.span = 0;
  }
}

/**
 * The smallest page shift (at least 2) with at most about one page per two objects: a small table
 * stays in cache, and the walk's extra entries are few.
 */
function pageShift(range: number, n: number): number {
  let shift = 2;
  while (shift < 31 && range / 2 ** shift > n / 2) shift++;
  return shift;
}

/**
 * Overlaps among the sorted objects ord[0, n): keeps the older object of each overlapping pair,
 * compacting ord in place; returns how many are left.
 */
function dropOverlaps(t: ObjectTable, ord: Uint32Array, n: number, dropOverlap: (kept: number, dropped: number) => void): number {
  const { start, size } = t;
  let m = 0;
  let lastEnd = 0;
  for (let i = 0; i < n; i++) {
    const s = ord[i];
    const st = start[s];
    if (m > 0 && st < lastEnd) {
      // Rare: the two overlap. The replaced entry's predecessor ends at or before its start,
      // which is at or before st: no new overlap.
      const prev = ord[m - 1];
      if (t.olderThan(prev, s)) {
        dropOverlap(prev, s);
        continue;
      }
      dropOverlap(s, prev);
      m--;
    }
    ord[m++] = s;
    lastEnd = endOf(st, size[s]);
  }
  return m;
}

/**
 * The end of an object starting at st of size sz: [st, st + max(sz, 1)), capped at the end of a
 * 4 GiB memory. An end of 2^32 fits an entry (end - lo < 2^32: lo > 0, as address 0 is never an
 * object).
 */
function endOf(st: number, sz: number): number {
  const e = st + (sz === 0 ? 1 : sz);
  return e > MEM_END ? MEM_END : e;
}

function insertionSort(ord: Uint32Array, start: Uint32Array, a: number, b: number): void {
  for (let i = a + 1; i < b; i++) {
    const s = ord[i];
    const key = start[s];
    let j = i - 1;
    while (j >= a && start[ord[j]] > key) {
      ord[j + 1] = ord[j];
      j--;
    }
    ord[j + 1] = s;
  }
}

/**
 * One stable counting-sort pass on the RADIX_BITS of key - min at `sh`, of the n pairs at word
 * `from` of `pairs` into the n pairs at word `to`.
 */
function radixPass(pairs: Uint32Array, from: number, to: number, n: number, sh: number, min: number, counts: Uint32Array): void {
  const mask = (1 << RADIX_BITS) - 1;
  counts.fill(0);
  for (let i = 0; i < n; i++) counts[((pairs[from + 2 * i] - min) >>> sh) & mask]++;
  let sum = 0;
  for (let b = 0; b <= mask; b++) {
    const c = counts[b];
    counts[b] = sum;
    sum += c;
  }
  for (let i = 0; i < n; i++) {
    const key = pairs[from + 2 * i];
    const d = to + 2 * counts[((key - min) >>> sh) & mask]++;
    pairs[d] = key;
    pairs[d + 1] = pairs[from + 2 * i + 1];
  }
}

/**
 * If the sorted objects ord[0, n) are disjoint: fills page[p] with the first entry whose end is
 * past page p's start, for every page up to the last end, and returns that end (absolute).
 * Returns -1 at the first overlap (the caller then drops overlaps and fills the pages again).
 */
function disjointPages(ord: Uint32Array, start: Uint32Array, size: Uint32Array, lo: number, n: number, page: Int32Array, shift: number): number {
  const pageSize = 2 ** shift;
  let next = 0; // the first page not filled yet
  let nextBase = 0; // its start, as an offset
  let lastEnd = 0;
  for (let i = 0; i < n; i++) {
    const s = ord[i];
    const st = start[s];
    if (st < lastEnd) return -1;
    const sz = size[s];
    let e = st + (sz === 0 ? 1 : sz);
    if (e > MEM_END) e = MEM_END;
    lastEnd = e;
    const end = e - lo;
    while (nextBase < end) {
      page[next++] = i;
      nextBase += pageSize;
    }
  }
  return lastEnd;
}

/** page[p] = first entry whose end is past the page's start (p < pages). */
function fillPages(page: Int32Array, pages: number, shift: number, ord: Uint32Array, start: Uint32Array, size: Uint32Array, lo: number, n: number): void {
  const pageSize = 2 ** shift;
  let i = 0;
  let sz = size[ord[0]];
  let end = start[ord[0]] + (sz === 0 ? 1 : sz) - lo;
  let base = 0;
  for (let p = 0; p < pages; p++, base += pageSize) {
    while (end <= base && i < n - 1) {
      const s = ord[++i];
      sz = size[s];
      end = start[s] + (sz === 0 ? 1 : sz) - lo;
    }
    page[p] = i;
  }
}
