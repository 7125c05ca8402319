/**
 * "Which object contains address A": the interval index the scanner consults for every word
 * that passes the min/max filter. Built at scan start from the live objects (kmemleak's rbtree,
 * frozen for one scan): starts sorted by an LSD radix sort, then a page table over the covered
 * range that maps each page to the first entry that may contain an address in it, so a lookup is
 * one page-table read plus a short forward walk over adjacent entries.
 *
 * Layout: entry e is ent[4e .. 4e+3] = [start, end, slot, need], interleaved so that a lookup hit
 * touches one cache line. start/end are offsets from `lo` (the lowest start), stored as int32:
 * while span < 2^31 (`small`) they are non-negative and the scanner compares them with int32
 * arithmetic, without branches (V8 keeps int32 in registers; u32 values >= 2^31 become slow
 * doubles); otherwise they are read back as unsigned on a slower path. `need` is the scan's
 * colour state in snapshot space: the references still missing before the object turns grey
 * (> 0: white; 0: grey, black, freed, or turned grey by the checksum pass). The scanner writes
 * counts back to the table at the end.
 *
 * Invariants:
 * - Intervals are disjoint and sorted by start. Overlaps found while building are resolved by
 *   dropping the newer object (the caller warns and untracks it).
 * - An object's interval is [start, start + max(size, 1)): a pointer equal to the start of a
 *   zero-sized block still references it.
 * - An address is in no object unless d = (A - lo) mod 2^32 < span (the min/max filter).
 * - page[p] & PAGE_INDEX_MASK = first entry e whose end > p * 2^shift; the walk from there stops
 *   at the first entry ending after d, the only one that can contain it.
 * - whiteBits has a bit set for every granule that a white object overlaps (the scanner keeps it:
 *   sets on whitening, clears the granules entirely inside an object that stops being white).
 * - Objects created after the build are not in it (kmemleak: objects created during a scan are
 *   not coloured by it). Entries keep slot ids; the caller checks that they are still live.
 * Transient memory: 16 bytes an entry (+1/8 slack), about 2 for the page table, 0.5 for the
 * white bitmap. The sort needs no scratch of its own: (start, slot) pairs are sorted inside the
 * entry array (pairs in its lower half, the radix passes' other buffer its upper half) and then
 * spread into entries from the last to the first, each entry overwriting only pairs already read.
 * At 10M objects this saves the 180 MB that separate sort arrays took (issue 12, peak memory).
 */

import { F_ALLOCATED, type ObjectTable } from './object-table.js';

/** A page word is the page's first entry index (the low 26 bits; higher bits are zero). */
export const PAGE_INDEX_MASK = (1 << 26) - 1;
/** Granules of the white bitmap per page, as a shift (about 8 bits per two objects). */
const GRANULE_PER_PAGE_SHIFT = 3;
const RADIX_BITS = 11;

export class AddressSnapshot {
  n = 0;
  ent = new Int32Array(0);
  page = new Int32Array(1);
  /**
   * The scanner's white bitmap, one bit per granule of 2^gshift bytes of offset (about 4 bits an
   * object, small enough for L2 on 1M objects): a clear bit means no white object covers any
   * byte of the granule, so a word pointing there is rejected without touching the index. Set
   * bits may be stale (conservative): a granule shared by two objects stays set. Zero after build().
   */
  whiteBits = new Int32Array(1);
  gshift = 31;
  shift = 31;
  lo = 0;
  span = 0;
  /** span < 2^31: offsets are non-negative int32 (the scanner's fast path). */
  small = true;
  private readonly counts = new Uint32Array(1 << RADIX_BITS);

  get bytes(): number {
    return this.ent.byteLength + this.page.byteLength + this.whiteBits.byteLength;
  }

  /**
   * Rebuilds from the table's live objects. `dropOverlap(kept, dropped)` is called for each
   * object left out because it overlaps an older one. Every entry's `need` is 0.
   */
  build(t: ObjectTable, dropOverlap: (kept: number, dropped: number) => void): void {
    const live = t.live;
    if (this.ent.length < 4 * live) {
      const cap = Math.max(64, live + (live >>> 3));
      this.ent = new Int32Array(cap * 4);
    }
    const pairs = new Uint32Array(this.ent.buffer, this.ent.byteOffset, this.ent.length);
    const n = gatherLive(t.flags, t.start, t.hi, pairs);
    this.radixSort(pairs, n);
    let lo = n > 0 ? pairs[0] : 0;
    let m: number;
    let lastEnd: number;
    if (disjoint(pairs, t.size, n)) {
      m = n;
      lastEnd = spreadEntries(this.ent, pairs, t.size, n, lo);
    } else {
      // Rare: overlapping objects. Absolute starts, ends and slots in arrays of their own, the
      // newer of each overlapping pair dropped, then the entries filled from them.
      const keys = new Uint32Array(n);
      const vals = new Uint32Array(n);
      const ends = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        keys[i] = pairs[2 * i];
        vals[i] = pairs[2 * i + 1];
      }
      m = resolveOverlaps(t, keys, vals, ends, n, dropOverlap);
      lo = m > 0 ? keys[0] : 0;
      fillEntries(this.ent, keys, ends, vals, m, lo);
      lastEnd = m > 0 ? ends[m - 1] : 0;
    }
    this.n = m;
    this.lo = lo;
    this.span = m > 0 ? lastEnd - lo : 0;
    this.small = this.span < 0x80000000;
    this.buildPages();
  }

  /**
   * Sorts the pairs (start, slot) at pairs[0, 2n) by start: LSD radix on start - min with 11-bit
   * digits (2048 buckets stay in cache; only as many passes as the key range needs), between the
   * lower half pairs[0, 2n) and the upper half pairs[2n, 4n). Starts already in order (objects
   * allocated at rising addresses) are left alone. The result is in the lower half.
   */
  private radixSort(pairs: Uint32Array, n: number): void {
    let min = 0xffffffff;
    let max = 0;
    let sorted = true;
    for (let i = 0; i < n; i++) {
      const key = pairs[2 * i];
      if (key < min) min = key;
      if (key > max) max = key;
      if (i > 0 && key < pairs[2 * i - 2]) sorted = false;
    }
    if (sorted) return;
    let bits = 1;
    while (bits < 32 && (max - min) / 2 ** bits >= 1) bits++;
    const passes = Math.ceil(bits / RADIX_BITS);
    let from = 0;
    for (let pass = 0; pass < passes; pass++) {
      const to = from === 0 ? 2 * n : 0;
      radixPass(pairs, from, to, n, pass * RADIX_BITS, min, this.counts);
      from = to;
    }
    if (from !== 0) pairs.copyWithin(0, from, from + 2 * n);
  }

  private buildPages(): void {
    const n = this.n;
    if (n === 0) {
      this.shift = 31;
      this.page = new Int32Array(1);
      this.whiteBits = new Int32Array(1);
      this.gshift = 31;
      return;
    }
    const range = this.span;
    // About one page per two objects: a small table stays in cache, and the walk's extra
    // entries are in the same cache line.
    let shift = 2;
    while (shift < 31 && range / 2 ** shift > n / 2) shift++;
    const pages = Math.floor((range - 1) / 2 ** shift) + 1;
    const page = new Int32Array(pages);
    fillPages(page, pages, 2 ** shift, this.ent, n);
    this.shift = shift;
    this.page = page;
    const gshift = shift > GRANULE_PER_PAGE_SHIFT ? shift - GRANULE_PER_PAGE_SHIFT : 0;
    const granules = Math.floor((range - 1) / 2 ** gshift) + 1;
    this.gshift = gshift;
    this.whiteBits = new Int32Array(Math.ceil(granules / 32));
  }

  /** Entry containing address a, or -1. */
  lookup(a: number): number {
    const d = (a - this.lo) >>> 0;
    if (d >= this.span) return -1;
    const ent = this.ent;
    let k = (this.page[d >>> this.shift] & PAGE_INDEX_MASK) << 2;
    while (ent[k + 1] >>> 0 <= d) k += 4;
    return ent[k] >>> 0 <= d ? k >> 2 : -1;
  }

  slotOf(e: number): number {
    return this.ent[4 * e + 2];
  }

  /** Releases the transient arrays (after `off`). */
  clear(): void {
    this.n = 0;
    this.ent = new Int32Array(0);
    this.page = new Int32Array(1);
    this.whiteBits = new Int32Array(1);
    this.lo = 0;
    this.span = 0;
  }
}

/**
 * Overlaps among the sorted objects (keys: starts, vals: slots): keeps the older object of each
 * overlapping pair, compacting keys/ends/vals in place; returns how many are left.
 */
function resolveOverlaps(
  t: ObjectTable,
  keys: Uint32Array,
  vals: Uint32Array,
  ends: Uint32Array,
  n: number,
  dropOverlap: (kept: number, dropped: number) => void,
): number {
  const size = t.size;
  let m = 0;
  for (let i = 0; i < n; i++) {
    const s = vals[i];
    const st = keys[i];
    const sz = size[s];
    const e = st + (sz === 0 ? 1 : sz);
    const end = e > 0xffffffff ? 0xffffffff : e;
    if (m > 0 && st < ends[m - 1]) {
      const prev = vals[m - 1];
      if (t.olderThan(prev, s)) {
        dropOverlap(prev, s);
        continue;
      }
      dropOverlap(s, prev);
      m--;
      // The replaced entry's predecessor ends at or before its start <= st: no new overlap.
    }
    keys[m] = st;
    ends[m] = end;
    vals[m] = s;
    m++;
  }
  return m;
}

/** Live slots' (start, slot) pairs into pairs[0, 2n); returns n. */
function gatherLive(flags: Uint8Array, start: Uint32Array, hi: number, pairs: Uint32Array): number {
  let n = 0;
  for (let s = 0; s < hi; s++) {
    if (flags[s] & F_ALLOCATED) {
      pairs[2 * n] = start[s];
      pairs[2 * n + 1] = s;
      n++;
    }
  }
  return n;
}

/** The end of an object starting at st of size sz: [st, st + max(sz, 1)), capped at 2^32 - 1. */
function endOf(st: number, sz: number): number {
  const e = st + (sz === 0 ? 1 : sz);
  return e > 0xffffffff ? 0xffffffff : e;
}

/** Whether the sorted pairs' objects are disjoint (each ends at or before the next starts). */
function disjoint(pairs: Uint32Array, size: Uint32Array, n: number): boolean {
  for (let i = 0; i + 1 < n; i++) {
    if (pairs[2 * i + 2] < endOf(pairs[2 * i], size[pairs[2 * i + 1]])) return false;
  }
  return true;
}

/**
 * Spreads the sorted, disjoint pairs at ent's words [0, 2n) into entries (start and end as
 * offsets from lo, slot, need 0) in place, from the last to the first: entry i covers words
 * [4i, 4i + 4), which hold pairs 2i and 2i + 1, both read already (i >= 1), or pair 0 itself,
 * read before it is written. Returns the last object's absolute end (0 when n is 0).
 */
function spreadEntries(ent: Int32Array, pairs: Uint32Array, size: Uint32Array, n: number, lo: number): number {
  const lastEnd = n > 0 ? endOf(pairs[2 * n - 2], size[pairs[2 * n - 1]]) : 0;
  for (let i = n - 1, k = 4 * i; i >= 0; i--, k -= 4) {
    const st = pairs[2 * i];
    const s = pairs[2 * i + 1];
    const end = endOf(st, size[s]);
    ent[k] = st - lo;
    ent[k + 1] = end - lo;
    ent[k + 2] = s;
    ent[k + 3] = 0;
  }
  return lastEnd;
}

function fillEntries(ent: Int32Array, keys: Uint32Array, ends: Uint32Array, vals: Uint32Array, m: number, lo: number): void {
  for (let i = 0, k = 0; i < m; i++, k += 4) {
    ent[k] = keys[i] - lo;
    ent[k + 1] = ends[i] - lo;
    ent[k + 2] = vals[i];
    ent[k + 3] = 0;
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

/** page[p] = first entry whose end is past the page's start. */
function fillPages(page: Int32Array, pages: number, pageSize: number, ent: Int32Array, n: number): void {
  let i = 0;
  for (let p = 0; p < pages; p++) {
    const base = p * pageSize;
    while (i < n - 1 && ent[4 * i + 1] >>> 0 <= base) i++;
    page[p] = i;
  }
}
