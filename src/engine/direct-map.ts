/**
 * The exact-start index's direct map (exact-index.ts says when an object goes here): slot + 1 per
 * 16-byte granule of one 16 MiB-aligned window of addresses, the window of the first object it
 * takes (a wasm heap's first 16 MiB); 0 is "no object". One store and one load per object, where
 * allocations land at random addresses in a small heap (churn, an interpreter's reused chunks).
 *
 * Invariants:
 * - An entry is 0 or names a slot; it is valid while that slot is live and starts in the entry's
 *   granule (put overwrites an entry that is not; the index clears the entry of every object it
 *   removes or drops from here).
 * - `pages` has a bit for each 4 KiB page of entries written since the map was made; a page
 *   without its bit holds zeros and is neither read nor written. Why: on some kernels (this
 *   project's benchmark machine) a read of a fresh page commits it as a write does, and the
 *   index's duplicate check of every object joining its run read the map at that object's
 *   granule: a parse tree built in the run committed the whole 4 MiB (JSON's peak, issue 15).
 * Memory: 4 MiB of address space, committed only where objects lie.
 */

import { F_ALLOCATED, type ObjectTable } from './object-table.js';
import { mutableFields } from './v8-fields.js';

/** The map's window: the 16 MiB-aligned 16 MiB of addresses holding the first object it takes. */
const WINDOW = 1 << 24;
/** Bytes per entry's granule (log2): dlmalloc's chunks are at least 16 bytes apart. */
const GRANULE_SHIFT = 4;
/** Entries per page of the map (log2): 4 KiB of entries. */
const PAGE_SHIFT = 10;

export class DirectMap {
  /** slot + 1 per granule of [base, base + WINDOW); empty until the first object. */
  private map = new Int32Array(0);
  private base = 0;
  private readonly pages = new Int32Array(WINDOW >>> (GRANULE_SHIFT + PAGE_SHIFT + 5));

  constructor(private readonly t: ObjectTable) {
    mutableFields(this, ['map', 'base']);
  }

  /** Bytes of the map in use: the pages written. */
  get bytes(): number {
    let n = 0;
    if (this.map.length !== 0) for (const w of this.pages) for (let v = w >>> 0; v !== 0; v &= v - 1) n += 4096;
    return n;
  }

  /** The granule of `start` in the window (the map made at first use), or -1 outside it. */
  granule(start: number): number {
    if (this.map.length === 0) this.open(start);
    const d = (start - this.base) >>> 0;
    return d < WINDOW ? d >>> GRANULE_SHIFT : -1;
  }

  /** The live object that entry g names (it starts in granule g), or -1: the granule is free. */
  occupant(g: number): number {
    if (!this.written(g)) return -1;
    const e = this.map[g] - 1;
    const t = this.t;
    return e >= 0 && (t.flags[e] & F_ALLOCATED) !== 0 && ((t.start[e] - this.base) >>> 0) >>> GRANULE_SHIFT === g ? e : -1;
  }

  /** Slot s (starting in granule g) into the map. */
  put(g: number, s: number): void {
    this.map[g] = s + 1;
    this.pages[g >>> (PAGE_SHIFT + 5)] |= 1 << ((g >>> PAGE_SHIFT) & 31);
  }

  /** The live object of the map starting at ptr, or -1. */
  find(ptr: number): number {
    if (this.map.length === 0) return -1;
    const d = (ptr - this.base) >>> 0;
    if (d >= WINDOW || !this.written(d >>> GRANULE_SHIFT)) return -1;
    const e = this.map[d >>> GRANULE_SHIFT] - 1;
    return e >= 0 && this.t.start[e] === ptr && (this.t.flags[e] & F_ALLOCATED) !== 0 ? e : -1;
  }

  /** Removes the live object starting at ptr and returns its slot, or -1. */
  take(ptr: number): number {
    const e = this.find(ptr);
    if (e >= 0) this.map[((ptr - this.base) >>> 0) >>> GRANULE_SHIFT] = 0;
    return e;
  }

  /** Forgets every object and releases the map to the GC (made again at next use). */
  drop(): void {
    this.map = new Int32Array(0);
  }

  /** The window is the one holding `start` (the first object the map could take). */
  private open(start: number): void {
    this.base = (start - (start % WINDOW)) >>> 0;
    this.map = new Int32Array(WINDOW >>> GRANULE_SHIFT);
    this.pages.fill(0);
  }

  /** Whether an entry of granule g's page was ever written (else the page holds zeros). */
  private written(g: number): boolean {
    return (this.pages[g >>> (PAGE_SHIFT + 5)] & (1 << ((g >>> PAGE_SHIFT) & 31))) !== 0;
  }
}
