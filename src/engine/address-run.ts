/**
 * A run of objects allocated at strictly rising addresses, in creation order: (start, slot)
 * pairs in two parallel arrays, so the array is sorted by start and a free finds its object by
 * searching outwards from where the previous one was found (exact-index.ts says why).
 *
 * Invariants:
 * - keys[0, n) strictly increase. An entry whose object is gone is a tombstone (slot DEAD) and
 *   keeps its key, so the order stays searchable.
 * - A live entry's object may since have been dropped elsewhere (a scan's overlap check): a
 *   look-up accepts an entry only while its slot is allocated and still starts at the key.
 * - `live` counts entries not yet tombstoned; the run empties (reset) when it reaches 0.
 * Memory: 8 bytes an entry; capacity grows as the object table's.
 */

import { F_ALLOCATED } from './object-table.js';
import { mutableFields } from './v8-fields.js';

const DEAD = 0xffffffff;
/** Entries of the run's one large buffer (8 bytes each: 32 MiB). */
const BIG_ENTRIES = 1 << 22;

export class AddressRun {
  private keys = new Uint32Array(1024);
  private slots = new Uint32Array(1024);
  private n = 0;
  live = 0;
  /** The most entries held at once since the arrays were allocated. */
  private peak = 0;
  /** Where the last look-up found its entry. */
  private cursor = 0;

  constructor() {
    mutableFields(this, ['keys', 'slots', 'n', 'live', 'peak', 'cursor']);
  }

  /** Entries, tombstones included. */
  get length(): number {
    return this.n;
  }

  /** Bytes written so far: the arrays' capacity beyond the most entries ever held is untouched. */
  get bytes(): number {
    return this.peak * 8;
  }

  /** Whether start lies above every key (it may be appended). */
  above(start: number): boolean {
    return this.n === 0 || start > this.keys[this.n - 1];
  }

  /** Appends (start, s); start must lie above every key (see above). */
  append(start: number, s: number): void {
    const n = this.n;
    if (n === this.keys.length) this.grow();
    this.keys[n] = start;
    this.slots[n] = s;
    this.n = n + 1;
    if (n >= this.peak) this.peak = n + 1;
    this.live++;
  }

  /** Whether most entries are tombstones (a new run may start: see ExactIndex.add). */
  mostlyDead(): boolean {
    return this.live * 8 < this.n;
  }

  private grow(): void {
    // Steep and in one buffer, as the object table grows (nextCapacity says why): x8, then from
    // 64K entries straight to 4M (32 MiB: always mapped fresh, committed only where written),
    // then x4.
    const len = this.keys.length;
    const cap = len < 1 << 16 ? len * 8 : Math.max(BIG_ENTRIES, len * 4);
    const buffer = new ArrayBuffer(cap * 8);
    const keys = new Uint32Array(buffer, 0, cap);
    keys.set(this.keys.subarray(0, this.n));
    const slots = new Uint32Array(buffer, cap * 4, cap);
    slots.set(this.slots.subarray(0, this.n));
    this.keys = keys;
    this.slots = slots;
  }

  /**
   * Removes the live object starting at ptr and returns its slot, or -1. `start` and `flags` are
   * the table's (see the invariants).
   */
  take(ptr: number, start: Uint32Array, flags: Uint8Array): number {
    if (this.live === 0) return -1;
    const i = this.indexOf(ptr);
    if (i < 0) return -1;
    const s = this.slots[i];
    if (s === DEAD) return -1;
    this.slots[i] = DEAD;
    this.live--;
    this.cursor = i;
    if (this.live === 0) this.reset();
    return flags[s] & F_ALLOCATED && start[s] === ptr ? s : -1;
  }

  /** The slot of the live object at ptr held by the run, or -1 (the run is unchanged). */
  liveSlot(ptr: number, start: Uint32Array, flags: Uint8Array): number {
    const i = this.indexOf(ptr);
    if (i < 0) return -1;
    const s = this.slots[i];
    return s !== DEAD && flags[s] & F_ALLOCATED && start[s] === ptr ? s : -1;
  }

  /** The entry whose key is ptr, or -1: searched outwards from the cursor, then by halves. */
  private indexOf(ptr: number): number {
    const keys = this.keys;
    const n = this.n;
    if (n === 0 || ptr < keys[0] || ptr > keys[n - 1]) return -1;
    let c = this.cursor < n ? this.cursor : n - 1;
    let lo: number;
    let hi: number;
    if (keys[c] === ptr) return c;
    if (keys[c] < ptr) {
      // keys[lo] < ptr; find hi with keys[hi] >= ptr.
      let step = 1;
      lo = c;
      hi = c + 1;
      while (keys[hi] < ptr) {
        lo = hi;
        step *= 2;
        hi = c + step < n ? c + step : n - 1;
      }
    } else {
      // keys[hi] > ptr; find lo with keys[lo] <= ptr.
      let step = 1;
      hi = c;
      lo = c - 1;
      while (keys[lo] > ptr) {
        hi = lo;
        step *= 2;
        lo = c - step > 0 ? c - step : 0;
      }
      if (keys[lo] === ptr) return lo;
    }
    // keys[lo] < ptr <= keys[hi]
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid] < ptr) lo = mid;
      else hi = mid;
    }
    return keys[hi] === ptr ? hi : -1;
  }

  /** A scan dropped slot s (starting at start): its entry, if live, becomes a tombstone. */
  forgetSlot(start: number, s: number): void {
    const i = this.indexOf(start);
    if (i >= 0 && this.slots[i] === s) {
      this.slots[i] = DEAD;
      this.live--;
      if (this.live === 0) this.reset();
    }
  }

  /** Calls visit with each live entry's slot in order, then empties the run. */
  drain(visit: (s: number) => void): void {
    const slots = this.slots;
    for (let i = 0, n = this.n; i < n; i++) if (slots[i] !== DEAD) visit(slots[i]);
    this.reset();
  }

  /** Empties the run (its arrays are kept for the next one). */
  reset(): void {
    this.n = 0;
    this.live = 0;
    this.cursor = 0;
  }

  /** Empties the run and hands over the parts of its arrays in use (their pages are resident). */
  takeArrays(): Uint32Array[] {
    const parts = [this.keys.subarray(0, this.n), this.slots.subarray(0, this.n)];
    this.clear();
    return parts;
  }

  /** Empties the run and releases its arrays. */
  clear(): void {
    this.reset();
    this.peak = 0;
    this.keys = new Uint32Array(16);
    this.slots = new Uint32Array(16);
  }
}
