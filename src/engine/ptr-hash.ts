/**
 * Exact-start index: pointer -> slot, for the operations kmemleak does by the block's own address
 * (free, annotations). Open addressing with linear probing on a Uint32Array; deletion shifts the
 * following entries back, so there are no tombstones and probe chains stay short under churn.
 *
 * Invariants:
 * - An entry is 0 (empty) or `(slot + 1) * 64 + (home & 63)`, home being the entry's home bucket.
 * - Every entry sits fewer than 64 buckets after its home (an insert that would probe further
 *   grows the table instead). Hence within a probe run the tag equals ours exactly when the entry
 *   has our home: a lookup reads a key (`keys[slot]`, the object table's start array, a likely
 *   cache miss) only for entries that share its home bucket, and deletion recovers each entry's
 *   home from its tag and position, without reading keys at all.
 * - The key of an entry is always `keys()[slot]`: the owner must remove an entry before changing
 *   that object's start.
 * - Load stays <= 3/4; the table doubles past that (4 bytes an entry: 5.3..10.7 bytes per object).
 * - Home buckets keep address locality (homeOf): the 16-byte granules of a 128-byte window of
 *   addresses have consecutive homes (8 buckets, half a cache line), windows are scattered by a
 *   multiplicative hash that also takes the address's offset in its granule (so pointers packed
 *   closer than 16 bytes spread over different windows' buckets). Programs allocate, and mostly
 *   free, in address order (a heap's top chunk is carved in order; a tree is freed as it was
 *   built), so neighbouring operations touch neighbouring buckets: a fully random hash cost a
 *   cache miss per operation, the largest cost of freeing a large structure (issue 15).
 */

import { mutableFields } from './v8-fields.js';

const GOLDEN = 0x9e3779b1 | 0;
/** Buckets per 128-byte window of addresses (one per 16-byte granule). */
const WINDOW_BITS = 3;

/** The home bucket of ptr in a table of 2^(32 - shift) buckets (see the invariants). */
function homeOf(ptr: number, shift: number): number {
  const window = Math.imul((ptr >>> 7) ^ ((ptr & 15) << 25), GOLDEN) >>> (shift + WINDOW_BITS);
  return (window << WINDOW_BITS) | ((ptr >>> 4) & ((1 << WINDOW_BITS) - 1));
}
const MIN_BITS = 8;
const MAX_BITS = 26;

export class PtrHash {
  private bits = MIN_BITS;
  private shift = 32 - MIN_BITS;
  private mask = (1 << MIN_BITS) - 1;
  private table = new Uint32Array(1 << MIN_BITS);
  private n = 0;

  /** `keys` returns the current start array (it is replaced when the object table grows). */
  constructor(private readonly keys: () => Uint32Array) {
    mutableFields(this, ['bits', 'shift', 'mask', 'table', 'n']);
  }

  get entries(): number {
    return this.n;
  }

  get bytes(): number {
    return this.table.byteLength;
  }

  /** Whether one more entry fits (the table cannot grow past 2^26 entries). */
  get full(): boolean {
    return this.bits === MAX_BITS && !this.fits(this.n + 1);
  }

  find(ptr: number): number {
    const i = this.bucket(ptr);
    return i < 0 ? -1 : (this.table[i] >>> 6) - 1;
  }

  /** The bucket holding ptr, or -1. */
  private bucket(ptr: number): number {
    const home = homeOf(ptr, this.shift);
    const tag = home & 63;
    const table = this.table;
    const mask = this.mask;
    const keys = this.keys();
    for (let i = home; ; i = (i + 1) & mask) {
      const e = table[i];
      if (e === 0) return -1;
      if ((e & 63) === tag && keys[(e >>> 6) - 1] === ptr) return i;
    }
  }

  /** Whether n entries fit under the load limit (3/4) without growing. */
  private fits(n: number): boolean {
    return n <= (this.table.length >>> 2) * 3;
  }

  /**
   * Inserts ptr -> slot and returns -1, or returns the slot already holding ptr (no insert), or
   * -2 when the table is at its maximum size and cannot place the entry.
   */
  insert(ptr: number, slot: number): number {
    if (!this.fits(this.n + 1) && this.bits < MAX_BITS) this.resize(this.bits + 1);
    for (;;) {
      const home = homeOf(ptr, this.shift);
      const tag = home & 63;
      const table = this.table;
      const mask = this.mask;
      const keys = this.keys();
      let i = home;
      let dist = 0;
      for (;;) {
        const e = table[i];
        if (e === 0) break;
        if ((e & 63) === tag) {
          const s = (e >>> 6) - 1;
          if (keys[s] === ptr) return s;
        }
        i = (i + 1) & mask;
        dist++;
      }
      if (dist < 64) {
        table[i] = (slot + 1) * 64 + tag;
        this.n++;
        return -1;
      }
      if (this.bits >= MAX_BITS) return -2;
      // A probe run of 64: vanishingly rare at load <= 3/4; grow and try again.
      this.resize(this.bits + 1);
    }
  }

  /** Removes ptr and returns its slot, or -1 when absent. */
  remove(ptr: number): number {
    const i = this.bucket(ptr);
    if (i < 0) return -1;
    const table = this.table;
    const mask = this.mask;
    const s = (table[i] >>> 6) - 1;
    // Backward-shift deletion: move up every later entry of the run whose home lies at or
    // before the hole (cyclically), so lookups never stop early at the hole. An entry's distance
    // from its home is (position - tag) mod 64.
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const e = table[j];
      if (e === 0) break;
      if (((j - e) & 63) >= ((j - hole) & mask)) {
        table[hole] = e;
        hole = j;
      }
    }
    table[hole] = 0;
    this.n--;
    return s;
  }

  /** Grows the table once so that `more` inserts fit under the load limit (bulk inserts). */
  reserve(more: number): void {
    const want = this.n + more;
    if (this.fits(want)) return;
    let bits = this.bits;
    while (bits < MAX_BITS && want > ((1 << bits) >>> 2) * 3) bits++;
    if (bits > this.bits) this.resize(bits);
  }

  private resize(bits: number): void {
    const old = this.table;
    const table = new Uint32Array(1 << bits);
    const keys = this.keys();
    const shift = 32 - bits;
    const mask = (1 << bits) - 1;
    for (let k = 0; k < old.length; k++) {
      const e = old[k];
      if (e === 0) continue;
      const home = homeOf(keys[(e >>> 6) - 1], shift);
      let i = home;
      while (table[i] !== 0) i = (i + 1) & mask;
      table[i] = (e >>> 6) * 64 + (home & 63);
    }
    this.bits = bits;
    this.shift = shift;
    this.mask = mask;
    this.table = table;
  }

  /** Empties the hash and hands over its table (resident: a rehash writes all over it). */
  take(): Uint32Array {
    const table = this.table;
    this.clear();
    return table;
  }

  clear(): void {
    this.bits = MIN_BITS;
    this.shift = 32 - MIN_BITS;
    this.mask = (1 << MIN_BITS) - 1;
    this.table = new Uint32Array(1 << MIN_BITS);
    this.n = 0;
  }
}
