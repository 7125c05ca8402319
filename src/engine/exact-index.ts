/**
 * The exact-start index: pointer -> slot for the operations kmemleak does by a block's own
 * address (free, free_part, annotations). Four parts, each object in exactly one of them:
 *
 *   run        objects allocated at rising addresses into consecutive slots: a range of the
 *              object table, whose starts are sorted, searched from a cursor (address-run.ts)
 *   map        other objects in the 16 MiB-aligned window of addresses of the first of them
 *              (a wasm heap's first 16 MiB): slot + 1 per 16-byte granule, one object a granule
 *              (direct-map.ts)
 *   unindexed  other objects created since the last sync, in creation order (slot ids)
 *   hash       everything else (ptr-hash.ts)
 *
 * Why the map (issue 15, fifth session): where allocations land at random addresses (churn, an
 * interpreter's reused chunks) each object cost an entry in `unindexed`, a hash insert at the
 * next free, and a hash probe and backward shift at its own free; most of that code runs before
 * V8 has optimised it (a run reaches the engine with a few hundred thousand such events), and
 * compiling it was most of the engine's CPU there. The map is one store and one load. It covers
 * 16 MiB of addresses (4 MiB, committed only where objects lie); a heap past it, or a second
 * object starting in the same granule (an allocator packing blocks closer than 16 bytes), takes
 * the other parts.
 *
 * Why the run (issue 15): a program that builds a structure allocates it at rising addresses (a
 * heap's top chunk is carved in order) and frees it in or near that order (a parse tree, an
 * interpreter's sweep). In the hash each of those objects cost an insert and a remove, each a
 * cache miss in a table of megabytes (~90 ns each at 1.5M objects); in the run, an append and a
 * search that starts where the last one ended, in lines already in cache. Since the sixth
 * session the run is a range of the table's own slots (no memory of its own): the table hands
 * out slots in rising order while a structure is built (fresh ones, or a drained run's, which it
 * hands back from the bottom up).
 *
 * Invariants:
 * - Allocation and free do not sync: every other operation (annotations, free_part, dump,
 *   stats) calls sync(), which empties the run and `unindexed` into the hash, in creation order,
 *   so the map and the hash are exact whenever they are read. A free looks in the run, the map,
 *   then (after putting `unindexed` into the hash) in the hash.
 * - A map entry is 0 or names a slot; it is valid while that slot is live and starts in the
 *   entry's granule (add overwrites an entry that is not; every path that removes or drops an
 *   object of the map clears its entry). An object goes to the map only after the run, the hash
 *   and `unindexed` were checked for its start, and objects of the other parts are checked
 *   against the map, so no start is live in the map and in another part.
 * - No start is live in both the run and the other parts: an allocation out of order is looked
 *   up in the run, and one appended to the run in the hash when `hashedPages` says an object of
 *   its page went there since the hash was last empty (one bit per 4 KiB page, so that the run's
 *   appends, above every start it holds, rarely probe the hash). A duplicate found there is
 *   dropped at once (the newer object, with the warning); duplicates within the hash and
 *   `unindexed` are found when they meet at a sync, and any left at a scan by its snapshot.
 * - An entry of `unindexed` whose slot was dropped by a scan is skipped (GONE); the owner tells
 *   the index (drop), so that no entry of `unindexed` names a slot that the table reuses. (The
 *   run needs no telling: the table counts every release of its members.)
 */

import { AddressRun } from './address-run.js';
import { F_ALLOCATED, type ObjectTable } from './object-table.js';
import { DirectMap } from './direct-map.js';
import { PtrHash } from './ptr-hash.js';
import { mutableFields } from './v8-fields.js';

/** The unindexed objects are synced at the latest after this many (4 MiB of slot ids). */
const UNINDEXED_MAX = 1 << 20;
/**
 * The run is used while allocations keep rising: judged over each PERIOD allocations, it is on
 * for the next period when fewer than PERIOD >> BREAK_SHIFT of them were below their predecessor.
 * Where they jump about (reused free chunks: churn, an interpreter's young objects) the run
 * would only add a second look-up to each free.
 */
const PERIOD = 4096;
/**
 * A run blocked (the next object lies below its last, or its slot does not follow) is drained and
 * a new one started when it holds fewer live objects than this: a buffer grown to the heap's top
 * before a parse tree was built below it kept the first round of bench/workloads/json.c out of
 * the run, in the map (whose pages, once touched, stay resident: 3.7 MiB of JSON's peak).
 */
const FEW = 16;
/**
 * ... after this many allocations in a row rose without joining it. Not at the first: where
 * allocations land at random (churn) a small run would be drained and restarted at nearly every
 * one of them.
 */
const MISSED = 64;
/**
 * The run is drained when its dead objects outnumber its live ones by more than this: their slots
 * are kept from reuse while the run lasts (address-run.ts), so a run that grows while objects
 * behind it die (allocations that keep rising though blocks are freed) would grow the table.
 */
const DEAD_MAX = 4096;
/** An entry of `unindexed` whose object a scan dropped. */
const GONE = 0xffffffff;
const BREAK_SHIFT = 6;
export interface IndexEvents {
  /** The object in slot `dropped` starts where live object `kept` does: it was released. */
  duplicate(dropped: number, start: number, size: number, kept: number): void;
  /** The hash cannot grow: the detector stops. */
  full(): void;
}

export class ExactIndex {
  private readonly hash: PtrHash;
  private readonly run: AddressRun;
  private unindexed = new Uint32Array(1024);
  private nUnindexed = 0;
  private runOn = true;
  private lastStart = 0;
  /** Allocations in a row that rose but could not join the run. */
  private missed = 0;
  private breaks = 0;
  private allocs = 0;
  /** One bit per 4 KiB page: an object of the page went to `unindexed` or the hash. */
  // Signed: a word with bit 31 set read from a Uint32Array is a double, a heap number in V8's
  // unoptimised code (which runs the first thousands of events).
  private hashedPages = new Int32Array(1 << 15);
  private pagesDirty = false;
  /** Its memory was lent (lend): the index holds nothing until restore() puts the objects back. */
  private lent = false;
  private readonly map: DirectMap;

  constructor(private readonly t: ObjectTable, private readonly on: IndexEvents) {
    this.hash = new PtrHash(() => t.start);
    this.run = new AddressRun(t);
    this.map = new DirectMap(t);
    mutableFields(this, ['unindexed', 'nUnindexed', 'runOn', 'lastStart', 'missed', 'breaks', 'allocs', 'hashedPages', 'pagesDirty', 'lent', 'state']);
  }

  get bytes(): number {
    return this.hash.bytes + this.unindexed.byteLength + this.map.bytes;
  }

  /** Whether the hash is at its largest and full (no object can be created). */
  get full(): boolean {
    return this.hash.full;
  }

  /** A new live object in slot s (created just now). False when the detector had to stop. */
  add(s: number): boolean {
    if (this.lent) this.restore(s);
    const start = this.t.start[s];
    const rising = start > this.lastStart;
    this.judge(start);
    if (this.runOn) {
      let joins = this.run.above(start) && this.run.reaches(s);
      this.missed = joins ? 0 : rising ? this.missed + 1 : 0;
      if (joins ? this.run.deadPast(DEAD_MAX) : this.run.mostlyDead() || (this.run.live < FEW && this.missed >= MISSED)) {
        // A new run where the last one is mostly freed, holds a few objects only while objects
        // rise below it (a buffer that grew to the heap's top while a structure was built below
        // it), or keeps too many dead slots from reuse: its live objects go to the map or the hash.
        this.run.drain(this.rehome);
        joins = true;
      }
      if (joins) {
        if (this.mayBeHashed(start) && this.duplicateInHash(s, start)) return this.state;
        const inMap = this.map.find(start);
        if (inMap >= 0) {
          this.dropDuplicate(s, inMap);
          return true;
        }
        // Checked again: the look-up in the hash may have dropped a duplicate in a slot the run
        // was to step over (a dead slot on the free list must not enter the run's range).
        if (this.run.reaches(s)) {
          this.run.append(s);
          return true;
        }
      }
    }
    const older = this.run.liveSlot(start);
    if (older >= 0) {
      this.dropDuplicate(s, older);
      return true;
    }
    const g = this.map.granule(start);
    if (g >= 0) {
      const e = this.map.occupant(g);
      if (e < 0) {
        if (this.mayBeHashed(start) && this.duplicateInHash(s, start)) return this.state;
        this.map.put(g, s);
        return true;
      }
      if (this.t.start[e] === start) {
        this.dropDuplicate(s, e);
        return true;
      }
      // Another live object starts in this granule: s takes the other parts.
    }
    if (this.nUnindexed >= UNINDEXED_MAX && !this.syncUnindexed()) return false;
    this.pushUnindexed(s);
    return true;
  }

  /** False once the hash was found full (the detector stops). */
  private state = true;

  private mayBeHashed(start: number): boolean {
    const page = start >>> 12;
    return (this.hashedPages[page >>> 5] & (1 << (page & 31))) !== 0;
  }

  private markHashed(start: number): void {
    const page = start >>> 12;
    this.hashedPages[page >>> 5] |= 1 << (page & 31);
    this.pagesDirty = true;
  }

  /** Whether a live object other than s starts at start in the hash or `unindexed` (s is dropped then). */
  private duplicateInHash(s: number, start: number): boolean {
    if (!this.syncUnindexed()) {
      this.state = false;
      return true;
    }
    const existing = this.hash.find(start);
    if (existing < 0 || existing === s) return false;
    this.dropDuplicate(s, existing);
    return true;
  }

  /** Counts allocations below their predecessor; decides each PERIOD whether the run is used. */
  private judge(start: number): void {
    if (start <= this.lastStart) this.breaks++;
    this.lastStart = start;
    if (++this.allocs < PERIOD) return;
    this.runOn = this.breaks < PERIOD >>> BREAK_SHIFT;
    this.allocs = 0;
    this.breaks = 0;
    // Off: its live objects wait for the hash, or every allocation and free would search the run
    // too (an interpreter's long-lived objects, allocated while the heap was rising).
    if (!this.runOn && !this.run.empty) this.run.drain(this.rehome);
  }

  /**
   * A live object leaving the run: into the map where its granule is free, else `unindexed`. No
   * duplicate check: its start was checked against the other parts when it joined the run, and
   * every object added since was checked against the run. (In the map rather than the hash, its
   * page is not marked hashed: an interpreter's long-lived objects, drained from the run when
   * its allocations stopped rising, made every later allocation in their pages probe the hash.)
   * A callback made once: an arrow written inside add() or judge() makes V8 allocate their
   * closure context on every call (it captures `this`), taken or not: ~40 bytes an allocation,
   * the GC's largest source on random-lifetime churn.
   */
  private readonly rehome = (s: number): void => {
    const t = this.t;
    if (!(t.flags[s] & F_ALLOCATED)) return;
    const g = this.map.granule(t.start[s]);
    if (g >= 0 && this.map.occupant(g) < 0) this.map.put(g, s);
    else this.pushUnindexed(s);
  };

  private pushUnindexed(s: number): void {
    if (this.nUnindexed === this.unindexed.length) {
      const next = new Uint32Array(this.unindexed.length * 2);
      next.set(this.unindexed);
      this.unindexed = next;
    }
    this.unindexed[this.nUnindexed++] = s;
    this.markHashed(this.t.start[s]);
  }

  /** Puts every object into the hash (see the invariants). False when the detector had to stop. */
  sync(): boolean {
    if (this.lent) this.restore();
    if (!this.syncUnindexed()) return false;
    if (this.run.empty) return true;
    this.hash.reserve(this.run.live);
    let ok = true;
    this.run.drain((s) => {
      if (ok) ok = this.insert(s);
    });
    return ok;
  }

  private syncUnindexed(): boolean {
    const n = this.nUnindexed;
    if (n === 0) return true;
    this.nUnindexed = 0;
    this.hash.reserve(n);
    const pending = this.unindexed;
    for (let i = 0; i < n; i++) if (!this.insert(pending[i])) return false;
    return true;
  }

  /** Slot s into the hash; a duplicate start keeps the older object. False when the hash is full. */
  private insert(s: number): boolean {
    const t = this.t;
    // A slot dropped by a scan (GONE), or a duplicate dropped at allocation.
    if (s === GONE || !(t.flags[s] & F_ALLOCATED)) return true;
    this.markHashed(t.start[s]);
    const existing = this.hash.insert(t.start[s], s);
    if (existing === -1 || existing === s) return true;
    if (existing < 0) {
      this.on.full();
      return false;
    }
    if (t.olderThan(s, existing)) {
      this.hash.remove(t.start[s]);
      this.hash.insert(t.start[s], s);
      this.dropDuplicate(existing, s);
    } else this.dropDuplicate(s, existing);
    return true;
  }

  private dropDuplicate(dropped: number, kept: number): void {
    const t = this.t;
    const start = t.start[dropped];
    const size = t.size[dropped];
    t.release(dropped);
    this.on.duplicate(dropped, start, size, kept);
  }

  /**
   * kmemleak_free's look-up: removes the live object starting at ptr from the index and returns
   * its slot, or -1 (unknown, or the detector stopped). A duplicate found here is dropped.
   */
  takeFree(ptr: number): number {
    if (this.lent) this.restore();
    if (this.run.live > 0) {
      const s = this.run.take(ptr);
      if (s >= 0) return s;
    }
    const m = this.map.take(ptr);
    if (m >= 0) return m;
    if (!this.syncUnindexed()) return -1;
    if (this.hash.entries === 0) return -1;
    const s = this.hash.remove(ptr);
    if (this.hash.entries === 0) this.forgetHashedPages();
    return s;
  }

  /** The hash is empty: no page has objects there any more. */
  private forgetHashedPages(): void {
    if (!this.pagesDirty) return;
    this.hashedPages.fill(0);
    this.pagesDirty = false;
  }

  /** The live object starting at ptr (after sync), or -1. */
  find(ptr: number): number {
    if (this.lent) this.restore();
    const m = this.map.find(ptr);
    return m >= 0 ? m : this.hash.find(ptr);
  }

  /** Removes ptr (after sync); returns its slot or -1. */
  remove(ptr: number): number {
    if (this.lent) this.restore();
    const m = this.map.take(ptr);
    return m >= 0 ? m : this.hash.remove(ptr);
  }

  /** Indexes a re-created object (after sync): -1, or not -1 when it could not be placed. */
  insertSynced(ptr: number, s: number): number {
    if (this.lent) this.restore();
    const m = this.map.find(ptr);
    return m >= 0 ? m : this.hash.insert(ptr, s);
  }

  /** A scan dropped slot s (starting at start): wherever it is indexed, it is no more. */
  drop(start: number, s: number): void {
    if (this.lent) this.restore();
    if (this.map.find(start) === s) this.map.take(start);
    if (this.hash.find(start) === s) this.hash.remove(start);
    // Not left in `unindexed`, where the slot, once reused, would be indexed a second time.
    const pending = this.unindexed;
    for (let i = 0; i < this.nUnindexed; i++) if (pending[i] === s) pending[i] = GONE;
  }

  /**
   * The exit scan's scratch (issue 12, peak memory): hands over the memory of the hash (the part
   * in use: resident pages) and forgets every object. The next operation that
   * needs the index first puts every live object of the table back (restore).
   */
  lend(): Uint32Array[] {
    if (this.lent) return [];
    this.run.letGo();
    const parts = [this.hash.take()];
    // Not lent: its resident pages are scattered over 4 MiB. Dropped, and made again at next use.
    this.map.drop();
    this.nUnindexed = 0;
    this.forgetHashedPages();
    this.lent = true;
    return parts;
  }

  /**
   * After lend(): every live object of the table back into the index (as `unindexed`), but
   * `adding`, the object add() is indexing now.
   */
  private restore(adding = -1): void {
    this.lent = false;
    const { flags, hi } = this.t;
    for (let s = 0; s < hi; s++) if (flags[s] & F_ALLOCATED && s !== adding) this.pushUnindexed(s);
  }

  clear(): void {
    this.lent = false;
    this.hash.clear();
    this.run.letGo();
    this.forgetHashedPages();
    this.nUnindexed = 0;
    this.unindexed = new Uint32Array(16);
    this.map.drop();
  }
}
