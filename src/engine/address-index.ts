/**
 * "Which object contains address A": the interval index the scanner consults for every word
 * that passes the min/max filter. Built at scan start from the live objects (kmemleak's rbtree,
 * frozen for one scan): starts sorted by an LSD radix sort, then a page table over the covered
 * range that maps each page to the first entry that may contain an address in it, so a lookup is
 * one page-table read plus a short forward walk over adjacent entries.
 *
 * Layout: entry e is ent[4e .. 4e+3] = [start, end, slot, need], interleaved so that a lookup hit
 * touches one cache line. start/end are offsets from `lo` (the lowest start) XOR 0x80000000, as
 * int32: unsigned order becomes signed order and V8 keeps everything in int32 registers (u32
 * values >= 2^31 are slow doubles in V8). `need` is the scan's colour state in snapshot space:
 * the references still missing before the object turns grey (> 0: white; 0: grey, black, or
 * turned grey by the checksum pass). The scanner writes counts back to the table at the end.
 *
 * Invariants:
 * - Intervals are disjoint and sorted by start. Overlaps found while building are resolved by
 *   dropping the newer object (the caller warns and untracks it).
 * - An object's interval is [start, start + max(size, 1)): a pointer equal to the start of a
 *   zero-sized block still references it.
 * - An address is in no object unless d = (A - lo) mod 2^32 < span (the min/max filter).
 * - page[p] & PAGE_INDEX_MASK = first entry e whose end > p * 2^shift; the walk from there stops
 *   at the first entry ending after d, the only one that can contain it. build() leaves the white
 *   counts (bits 26..30) at zero.
 * - Objects created after the build are not in it (kmemleak: objects created during a scan are
 *   not coloured by it). Entries keep slot ids; the caller checks that they are still live.
 * Transient memory: 16 bytes an entry, about 2 for the page table, 16 of radix scratch.
 */

import { F_ALLOCATED, type ObjectTable } from './object-table.js';

/** Offsets are stored XOR this, as int32. */
export const BIAS = -0x80000000;
/**
 * A page word is the page's first entry index (low 26 bits) plus, from bit 26, how many white
 * objects overlap the page (kept by the scanner; 0..31, and 31 saturates: never decremented).
 * Positive int32 either way, so "any white here" is one compare: word >= PAGE_WHITE_ONE.
 */
export const PAGE_INDEX_MASK = (1 << 26) - 1;
export const PAGE_WHITE_ONE = 1 << 26;
export const PAGE_WHITE_MAX = 31 * PAGE_WHITE_ONE;

export class AddressSnapshot {
  n = 0;
  ent = new Int32Array(0);
  page = new Int32Array(1);
  shift = 31;
  lo = 0;
  span = 0;
  private keys = new Uint32Array(0);
  private vals = new Uint32Array(0);
  private tmpKey = new Uint32Array(0);
  private tmpVal = new Uint32Array(0);
  private readonly counts = new Uint32Array(65536);

  get bytes(): number {
    return this.ent.byteLength + this.page.byteLength + this.keys.byteLength * 4;
  }

  /**
   * Rebuilds from the table's live objects. `dropOverlap(kept, dropped)` is called for each
   * object left out because it overlaps an older one. Every entry's `need` is 0.
   */
  build(t: ObjectTable, dropOverlap: (kept: number, dropped: number) => void): void {
    const live = t.live;
    if (this.keys.length < live) {
      const cap = Math.max(64, live + (live >>> 3));
      this.keys = new Uint32Array(cap);
      this.vals = new Uint32Array(cap);
      this.tmpKey = new Uint32Array(cap);
      this.tmpVal = new Uint32Array(cap);
      this.ent = new Int32Array(cap * 4);
    }
    const keys = this.keys;
    const vals = this.vals;
    const flags = t.flags;
    const start = t.start;
    let n = 0;
    for (let s = 0; s < t.hi; s++) {
      if (flags[s] & F_ALLOCATED) {
        keys[n] = start[s];
        vals[n] = s;
        n++;
      }
    }
    this.radixSort(n);

    // Absolute ends, dropping the newer of two overlapping objects, into keys/tmpKey (ends).
    const size = t.size;
    const ends = this.tmpKey;
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
    this.n = m;
    const lo = m > 0 ? keys[0] : 0;
    const ent = this.ent;
    for (let i = 0, k = 0; i < m; i++, k += 4) {
      ent[k] = (keys[i] - lo) ^ BIAS;
      ent[k + 1] = (ends[i] - lo) ^ BIAS;
      ent[k + 2] = vals[i];
      ent[k + 3] = 0;
    }
    this.lo = lo;
    this.span = m > 0 ? ends[m - 1] - lo : 0;
    this.buildPages();
  }

  /** Sorts keys[0, n) ascending, carrying vals: two 16-bit LSD passes. */
  private radixSort(n: number): void {
    let k = this.keys;
    let v = this.vals;
    let k2 = this.tmpKey;
    let v2 = this.tmpVal;
    const counts = this.counts;
    for (let pass = 0; pass < 2; pass++) {
      const sh = pass * 16;
      counts.fill(0);
      for (let i = 0; i < n; i++) counts[(k[i] >>> sh) & 0xffff]++;
      let sum = 0;
      for (let b = 0; b < 65536; b++) {
        const c = counts[b];
        counts[b] = sum;
        sum += c;
      }
      for (let i = 0; i < n; i++) {
        const key = k[i];
        const d = counts[(key >>> sh) & 0xffff]++;
        k2[d] = key;
        v2[d] = v[i];
      }
      const tk = k;
      k = k2;
      k2 = tk;
      const tv = v;
      v = v2;
      v2 = tv;
    }
    // After two passes the sorted data is back in keys/vals.
  }

  private buildPages(): void {
    const n = this.n;
    if (n === 0) {
      this.shift = 31;
      this.page = new Int32Array(1);
      return;
    }
    const range = this.span;
    // About one page per two objects: a small table stays in cache, and the walk's extra
    // entries are in the same cache line.
    let shift = 2;
    while (shift < 31 && range / 2 ** shift > n / 2) shift++;
    const pages = Math.floor((range - 1) / 2 ** shift) + 1;
    const page = new Int32Array(pages);
    const ent = this.ent;
    const pageSize = 2 ** shift;
    let i = 0;
    for (let p = 0; p < pages; p++) {
      const base = (p * pageSize) ^ BIAS;
      while (i < n - 1 && ent[4 * i + 1] <= base) i++;
      page[p] = i;
    }
    this.shift = shift;
    this.page = page;
  }

  /** Entry containing address a, or -1. */
  lookup(a: number): number {
    const d = (a - this.lo) >>> 0;
    if (d >= this.span) return -1;
    const db = d ^ BIAS;
    const ent = this.ent;
    let k = (this.page[d >>> this.shift] & PAGE_INDEX_MASK) << 2;
    while (ent[k + 1] <= db) k += 4;
    return ent[k] <= db ? k >> 2 : -1;
  }

  slotOf(e: number): number {
    return this.ent[4 * e + 2];
  }

  /** Releases the transient arrays (after `off`). */
  clear(): void {
    this.n = 0;
    this.ent = new Int32Array(0);
    this.keys = new Uint32Array(0);
    this.vals = new Uint32Array(0);
    this.tmpKey = new Uint32Array(0);
    this.tmpVal = new Uint32Array(0);
    this.page = new Int32Array(1);
    this.lo = 0;
    this.span = 0;
  }
}
