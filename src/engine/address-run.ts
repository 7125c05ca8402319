/**
 * The run: objects allocated at strictly rising addresses into consecutive slots of the object
 * table, so the run is a range of the table, [lo, hi), and the table's `start` column over that
 * range is the run's sorted array of keys: a free finds its object by searching outwards from
 * where the previous one was found (exact-index.ts says why), and the run costs no memory of its
 * own (issue 15: it was 8 bytes an object, a fifth of the detector's memory on a parse tree).
 *
 * Invariants:
 * - The range and its counts are the table's (runLo, runHi, runMembers, runDead), so that every
 *   release is counted, whoever makes it. A member is a slot of the range without F_FOREIGN.
 *   Members' starts strictly rise with their slots, live or not: the table keeps the range's
 *   slots: a member released keeps its start (a tombstone's key) and is not reused until the
 *   range is let go (ObjectTable.releaseRun: by drain, or by the table when the last member
 *   dies), when its dead slots become reusable and its foreign marks go.
 * - A foreign slot (F_FOREIGN) is one the run stepped over to reach a slot the table handed out
 *   (see reaches): an object live at that moment, indexed elsewhere (map, hash, unindexed).
 *   Searches skip foreign slots; `foreign` counts them, and with none a search reads one column.
 * - No slot of the range is on the table's free list or parked: the run steps only over live
 *   slots, and released slots of the range are kept.
 */

import { F_ALLOCATED, F_FOREIGN, type ObjectTable } from './object-table.js';
import { mutableFields } from './v8-fields.js';

/** The most live slots the run steps over to reach the slot of an object it takes. */
const GAP_MAX = 16;

export class AddressRun {
  /** Foreign slots in the range (stale once the range is let go: reset at the next first member). */
  private foreign = 0;
  /** Where the last look-up found its member. */
  private cursor = 0;

  constructor(private readonly t: ObjectTable) {
    mutableFields(this, ['foreign', 'cursor']);
  }

  /** Live members. */
  get live(): number {
    return this.t.runMembers - this.t.runDead;
  }

  /** Whether the run holds no slot, live or dead. */
  get empty(): boolean {
    return this.t.runMembers === 0;
  }

  /**
   * Whether start lies above every member's (an object there may join). The range's first and
   * last slots are always members (it starts and ends at an appended object), and keep their
   * starts while the range lasts: the lowest and highest keys.
   */
  above(start: number): boolean {
    return this.t.runMembers === 0 || start > this.t.start[this.t.runHi - 1];
  }

  /** Whether the object in slot s may join: the run is empty, or s follows it past live slots only. */
  reaches(s: number): boolean {
    const hi = this.t.runHi;
    if (this.t.runMembers === 0 || s === hi) return true;
    if (s < hi || s - hi > GAP_MAX) return false;
    const flags = this.t.flags;
    for (let g = hi; g < s; g++) if (!(flags[g] & F_ALLOCATED)) return false;
    return true;
  }

  /** Appends the object in slot s (above(its start) and reaches(s) hold). */
  append(s: number): void {
    const t = this.t;
    if (t.runMembers === 0) {
      this.foreign = 0;
      this.cursor = s;
    } else if (s !== t.runHi) {
      const flags = t.flags;
      for (let g = t.runHi; g < s; g++) flags[g] |= F_FOREIGN;
      this.foreign += s - t.runHi;
    }
    t.joinRun(s);
  }

  /** Whether the dead members outnumber the live ones by more than n (see ExactIndex.add). */
  deadPast(n: number): boolean {
    const t = this.t;
    return t.runDead > t.runMembers - t.runDead + n;
  }

  /** Whether most members are dead (a new run may start: see ExactIndex.add). */
  mostlyDead(): boolean {
    const t = this.t;
    return (t.runMembers - t.runDead) * 8 < t.runMembers;
  }

  /**
   * The slot of the live member starting at ptr, or -1; the caller frees it (the table counts
   * the release).
   */
  take(ptr: number): number {
    const s = this.liveSlot(ptr);
    if (s >= 0) this.cursor = s;
    return s;
  }

  /** The slot of the live member starting at ptr, or -1. */
  liveSlot(ptr: number): number {
    if (this.t.runDead === this.t.runMembers) return -1;
    const s = this.indexOf(ptr);
    return s >= 0 && this.t.flags[s] & F_ALLOCATED ? s : -1;
  }

  /** Calls visit with each live member's slot in order, then lets the range go. */
  drain(visit: (s: number) => void): void {
    const t = this.t;
    if (t.runMembers === 0) return;
    const flags = t.flags;
    // Stops if visit released the last live member: the table let the range go then, and cleared
    // the foreign marks that tell the members from the other objects of the range.
    for (let s = t.runLo, hi = t.runHi; s < hi && t.runMembers !== 0; s++) {
      if ((flags[s] & (F_ALLOCATED | F_FOREIGN)) === F_ALLOCATED) visit(s);
    }
    this.letGo();
  }

  /** Empties the run: the table lets its range go (a no-op when visit released the last member). */
  letGo(): void {
    if (this.t.runMembers !== 0) this.t.releaseRun();
  }

  /** The first member at or after slot s, or runHi. */
  private member(s: number): number {
    if (this.foreign === 0) return s;
    const flags = this.t.flags;
    const hi = this.t.runHi;
    while (s < hi && flags[s] & F_FOREIGN) s++;
    return s;
  }

  /** Whether no member at or after slot s starts below ptr (the search's monotone test). */
  private reached(s: number, ptr: number): boolean {
    const m = this.member(s);
    return m >= this.t.runHi || this.t.start[m] >= ptr;
  }

  /**
   * The member whose start is ptr, or -1: the first slot s with reached(s, ptr) is found by
   * galloping outwards from the cursor, then by halves.
   */
  private indexOf(ptr: number): number {
    const lo = this.t.runLo;
    const hi = this.t.runHi;
    if (ptr < this.t.start[lo] || ptr > this.t.start[hi - 1]) return -1;
    const c = this.cursor >= lo && this.cursor < hi ? this.cursor : hi - 1;
    // Frees near the previous one first (a parse tree freed as it was built: json's frees are
    // the next slot's, two on or one back 71% of the time).
    const start = this.t.start;
    const flags = this.t.flags;
    if (c + 1 < hi && start[c + 1] === ptr && !(flags[c + 1] & F_FOREIGN)) return c + 1;
    if (c + 2 < hi && start[c + 2] === ptr && !(flags[c + 2] & F_FOREIGN)) return c + 2;
    if (c > lo && start[c - 1] === ptr && !(flags[c - 1] & F_FOREIGN)) return c - 1;
    // Invariant below: reached(b) and not reached(a); a = lo - 1 and b = hi stand for the ends.
    let a: number;
    let b: number;
    let step = 1;
    if (this.reached(c, ptr)) {
      b = c;
      a = c - 1;
      while (a >= lo && this.reached(a, ptr)) {
        b = a;
        step *= 2;
        a = c - step;
      }
      if (a < lo) a = lo - 1;
    } else {
      a = c;
      b = c + 1;
      while (b < hi && !this.reached(b, ptr)) {
        a = b;
        step *= 2;
        b = c + step;
      }
      if (b > hi) b = hi;
    }
    while (b - a > 1) {
      const mid = (a + b) >>> 1;
      if (this.reached(mid, ptr)) b = mid;
      else a = mid;
    }
    const m = this.member(b);
    return m < hi && this.t.start[m] === ptr ? m : -1;
  }
}
