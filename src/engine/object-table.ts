/**
 * The object table: kmemleak's `struct kmemleak_object`, one slot per tracked block, stored as
 * a struct of typed arrays so that tracking an allocation creates no JS object.
 *
 * Invariants:
 * - A slot is live iff `flags[s] & F_ALLOCATED`. Slots in [0, hi) have been used at least once;
 *   free slots form a free list (see `size` below), so slot ids are reused.
 * - `count[s] === COUNT_NONE` means "no colour yet" (kmemleak's count == -1): the object was created
 *   after the current/last scan started, or it is freed. Since min_count is stored clamped to
 *   [-1, MAX_MIN_COUNT] and COUNT_NONE exceeds that, `count >= minCount` is true for black, grey
 *   and uncoloured objects alike; only white objects have `count < minCount`.
 * - While a scan is running (`deferring`), released slots are parked and not reused until the scan
 *   ends, so a slot id held by the scan's snapshot or grey queue never names a different object.
 * - `seq` is the creation sequence, a 32-bit counter compared modulo 2^32 against the current
 *   counter (exact while no live object is older than 2^32 allocations).
 * - A free slot's `size` holds the free-list link (next free slot, 0xffffffff ends the list).
 * - An object's checksum (checksumOf) is kept only while `flags[s] & F_CSUM_VALID`, outside the
 *   slot buffer (slot-checksums.ts: few objects have one).
 * - An object's creation time (jiffies) and context are its epoch's (epochs.ts), found by `seq`.
 * - Slots in [runLo, runHi) belong to the exact-start index's run (address-run.ts): released,
 *   they keep their start and F_FOREIGN and are not reused (not on the free list, not parked)
 *   until the range is let go (releaseRun): by the run, or here when its last member dies.
 * Metadata per slot: 19 bytes (start, size, trace, seq: 4 each; minCount, count, flags: 1 each),
 * plus the checksums of objects scans saw white and the epochs (a few bytes per change of
 * millisecond or context). Capacity grows x8 (nextCapacity: the slack is address space, not
 * memory). min_count is clamped to [-1, 127] (kmemleak's callers pass -1, 0 or 1; a larger value
 * means "this many references needed", which 127 already covers in practice).
 */

import { Epochs } from './epochs.js';
import { SlotChecksums } from './slot-checksums.js';
import { mutableFields } from './v8-fields.js';

export const F_ALLOCATED = 1;
export const F_REPORTED = 2;
export const F_NO_SCAN = 4;
/** Internal: the object has scan areas in the side map. */
export const F_HAS_AREAS = 8;
/** Internal: the object has a computed CRC (checksumOf; kmemleak's initial checksum 0 is "none yet"). */
export const F_CSUM_VALID = 16;
/** Internal: a slot the exact-start index's run stepped over (address-run.ts); kept while in its range. */
export const F_FOREIGN = 32;
/** The flag bits kmemleak itself defines (printed by dump=). */
export const F_PUBLIC = F_ALLOCATED | F_REPORTED | F_NO_SCAN;

export const COUNT_NONE = 0xff;
export const MAX_MIN_COUNT = 0x7f;
/** Slots are addressed by 26 bits elsewhere (hash tags); beyond this the engine refuses objects. */
export const MAX_SLOTS = (1 << 26) - 1;

const INITIAL_CAPACITY = 1024;
/** Bytes per slot in the slot buffer: four u32 columns and three u8 ones. */
const SLOT_BYTES = 19;

/**
 * The capacity after `cap`: x8, except one jump from 64K to 2M slots. Why so steep: a fresh page
 * costs a page fault when first written (~13 us on the benchmark machine, ~3 ms a MiB: more than
 * the engine's own work on the slots it holds), and growing copies every slot into fresh pages;
 * doubling wrote each slot twice in all. The columns of a table live in one buffer, which from
 * 2M slots on (38 MiB) the C library always maps fresh from the kernel (its mmap threshold is at
 * most 32 MiB), so its pages are committed only when written: the unused capacity costs address
 * space, not memory.
 */
export function nextCapacity(cap: number): number {
  return Math.min(MAX_SLOTS, cap >= 1 << 16 && cap < 1 << 21 ? 1 << 21 : cap * 8);
}

export class ObjectTable {
  capacity = 0;
  start = new Uint32Array(0);
  size = new Uint32Array(0);
  /** Checksums of the objects with F_CSUM_VALID. */
  private readonly sums = new SlotChecksums();
  trace = new Uint32Array(0);
  seq = new Uint32Array(0);
  minCount = new Int8Array(0);
  count = new Uint8Array(0);
  flags = new Uint8Array(0);
  /** Creation time and context per run of creations (see epochs.ts). */
  readonly epochs = new Epochs();

  /** Slots [0, hi) have been handed out at least once. */
  hi = 0;
  live = 0;
  /** Next creation sequence number (mod 2^32). */
  nextSeq = 0;
  private freeHead = -1;
  /** The run's range (see the invariants): released slots there are kept. */
  runLo = 0;
  runHi = 0;
  /** The run's members (its slots without F_FOREIGN), and how many of them are dead. */
  runMembers = 0;
  runDead = 0;
  deferring = false;
  private parked: number[] = [];
  /** Scan areas: slot -> [offset, length, offset, length, ...]. Rare, so a side map. */
  readonly areas = new Map<number, number[]>();

  constructor(initialCapacity = INITIAL_CAPACITY) {
    this.grow(Math.max(16, initialCapacity));
    mutableFields(this, ['capacity', 'hi', 'live', 'nextSeq', 'freeHead', 'runLo', 'runHi', 'runMembers', 'runDead', 'deferring']);
  }

  /** Bytes of metadata in use (slots ever handed out), for the benchmark's per-object figure. */
  get bytes(): number {
    return this.hi * SLOT_BYTES + this.sums.bytes + this.epochs.bytes;
  }

  /** The object's checksum as kmemleak keeps it: 0 until a checksum pass computed one. */
  checksumOf(s: number): number {
    return this.flags[s] & F_CSUM_VALID ? this.sums.get(s) : 0;
  }

  /** A checksum pass computed the object's CRC (the pass sets F_CSUM_VALID). */
  setChecksum(s: number, crc: number): void {
    this.sums.set(s, crc, this.capacity);
  }

  /** The object's checksum is 0 again (kmemleak_transient_leak). */
  resetChecksum(s: number): void {
    if (this.flags[s] & F_CSUM_VALID) this.sums.delete(s);
    this.flags[s] &= ~F_CSUM_VALID;
  }

  /** The columns at capacity `cap`, in one buffer (see nextCapacity), the old slots copied. */
  private grow(cap: number): void {
    let buffer: ArrayBuffer;
    try {
      buffer = new ArrayBuffer(cap * SLOT_BYTES);
    } catch (e) {
      // No address space for the steep step: the smallest one that makes room.
      if (cap <= this.capacity + 1) throw e;
      cap = Math.min(MAX_SLOTS, this.capacity * 2);
      buffer = new ArrayBuffer(cap * SLOT_BYTES);
    }
    const hi = this.hi;
    const u32 = (i: number, old: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> => {
      const a = new Uint32Array(buffer, i * 4 * cap, cap);
      a.set(old.subarray(0, hi));
      return a;
    };
    const u8 = <T extends Int8Array<ArrayBuffer> | Uint8Array<ArrayBuffer>>(a: T, old: T): T => {
      a.set(old.subarray(0, hi));
      return a;
    };
    this.start = u32(0, this.start);
    this.size = u32(1, this.size);
    this.trace = u32(2, this.trace);
    this.seq = u32(3, this.seq);
    this.minCount = u8(new Int8Array(buffer, 16 * cap, cap), this.minCount);
    this.count = u8(new Uint8Array(buffer, 17 * cap, cap), this.count);
    this.flags = u8(new Uint8Array(buffer, 18 * cap, cap), this.flags);
    this.capacity = cap;
    this.sums.resize(cap, hi);
  }

  /**
   * A fresh slot holding a live, uncoloured object created now, at `jiffies` in context `ctx`;
   * -1 when the table cannot grow further.
   */
  create(start: number, size: number, minCount: number, trace: number, jiffies: number, ctx: number): number {
    if (this.epochs.due(this.live)) this.compactEpochs();
    const s = this.place(start, size, minCount, trace);
    if (s < 0) return -1;
    this.seq[s] = this.nextSeq;
    this.epochs.note(this.nextSeq, jiffies, ctx);
    this.nextSeq = (this.nextSeq + 1) >>> 0;
    return s;
  }

  /**
   * Re-creates part of an object (free_part) under its original creation number `seq`, hence
   * with its original time and context; -1 when the table cannot grow further.
   */
  recreate(start: number, size: number, minCount: number, trace: number, seq: number): number {
    const s = this.place(start, size, minCount, trace);
    if (s >= 0) this.seq[s] = seq;
    return s;
  }

  /** A slot holding a live, uncoloured object (its seq is the caller's to set), or -1. */
  private place(start: number, size: number, minCount: number, trace: number): number {
    let s = this.freeHead;
    if (s >= 0) {
      this.freeHead = this.size[s] === 0xffffffff ? -1 : this.size[s];
    } else {
      s = this.hi;
      if (s === this.capacity) {
        if (s >= MAX_SLOTS) return -1;
        this.grow(nextCapacity(s));
      }
      this.hi = s + 1;
    }
    this.start[s] = start;
    this.size[s] = size;
    this.trace[s] = trace;
    this.minCount[s] = minCount < -1 ? 0 : minCount > MAX_MIN_COUNT ? MAX_MIN_COUNT : minCount;
    this.count[s] = COUNT_NONE;
    this.flags[s] = F_ALLOCATED;
    this.live++;
    return s;
  }

  /** kmemleak's jiffies of the object in slot s: when it was created. */
  jiffiesOf(s: number): number {
    return this.epochs.timeOf(this.seq[s]);
  }

  /** The context id (contexts.ts) the object in slot s was created in. */
  ctxOf(s: number): number {
    return this.epochs.ctxOf(this.seq[s]);
  }

  private compactEpochs(): void {
    const flags = this.flags;
    const seq = this.seq;
    const hi = this.hi;
    this.epochs.compact((visit) => {
      for (let s = 0; s < hi; s++) if (flags[s] & F_ALLOCATED) visit(seq[s]);
    });
  }

  /**
   * Marks a slot dead; it returns to the free list now, when the running scan ends, or (a slot of
   * the run's range) when the run lets the range go.
   */
  release(s: number): void {
    const f = this.flags[s];
    if (f & F_HAS_AREAS) this.areas.delete(s);
    if (f & F_CSUM_VALID) this.sums.delete(s);
    this.count[s] = COUNT_NONE;
    this.live--;
    if (s >= this.runLo && s < this.runHi) {
      this.flags[s] = f & F_FOREIGN;
      // The run's last member died: its range goes now, with this slot dead in it (the next
      // run's slots then follow each other from the range's bottom).
      if (!(f & F_FOREIGN) && ++this.runDead === this.runMembers) this.releaseRun();
      return;
    }
    this.flags[s] = 0;
    this.letGo(s);
  }

  /** A dead slot becomes reusable: now, or when the running scan ends. */
  private letGo(s: number): void {
    if (this.deferring) this.parked.push(s);
    else this.pushFree(s);
  }

  /** The run took slot s, after stepping over the live slots from its end up to s. */
  joinRun(s: number): void {
    if (this.runMembers === 0) this.runLo = s;
    this.runHi = s + 1;
    this.runMembers++;
  }

  /**
   * The run lets its range go: its dead slots become reusable, pushed from the top down so that
   * the free list hands them out in rising order (the next run's slots follow each other), and
   * its foreign marks go.
   */
  releaseRun(): void {
    const flags = this.flags;
    const lo = this.runLo;
    for (let s = this.runHi - 1; s >= lo; s--) {
      const f = flags[s];
      if (f & F_ALLOCATED) flags[s] = f & ~F_FOREIGN;
      else {
        flags[s] = 0;
        this.letGo(s);
      }
    }
    this.runLo = this.runHi = 0;
    this.runMembers = this.runDead = 0;
  }

  private pushFree(s: number): void {
    this.size[s] = this.freeHead < 0 ? 0xffffffff : this.freeHead;
    this.freeHead = s;
  }

  /** Called when a scan starts (true) and ends (false). */
  setDeferring(on: boolean): void {
    this.deferring = on;
    if (!on) {
      for (const s of this.parked) this.pushFree(s);
      this.parked.length = 0;
    }
  }

  /** Age order: true when slot a was created before slot b. */
  olderThan(a: number, b: number): boolean {
    const next = this.nextSeq;
    return ((next - this.seq[a]) >>> 0) > ((next - this.seq[b]) >>> 0);
  }

  /** Live slots sorted by creation order (oldest first). Not a hot path. */
  inCreationOrder(filter: (s: number) => boolean): number[] {
    const out: number[] = [];
    const flags = this.flags;
    for (let s = 0; s < this.hi; s++) if (flags[s] & F_ALLOCATED && filter(s)) out.push(s);
    const next = this.nextSeq;
    const seq = this.seq;
    out.sort((a, b) => ((next - seq[b]) >>> 0) - ((next - seq[a]) >>> 0));
    return out;
  }

  addArea(s: number, offset: number, length: number): void {
    let list = this.areas.get(s);
    if (!list) {
      list = [];
      this.areas.set(s, list);
    }
    list.push(offset, length);
    this.flags[s] |= F_HAS_AREAS;
  }

  /** Drops everything (kmemleak `off`): the arrays are released to the GC. */
  clear(): void {
    this.capacity = 0;
    this.start = new Uint32Array(0);
    this.size = new Uint32Array(0);
    this.sums.clear();
    this.trace = new Uint32Array(0);
    this.seq = new Uint32Array(0);
    this.minCount = new Int8Array(0);
    this.count = new Uint8Array(0);
    this.flags = new Uint8Array(0);
    this.epochs.clear();
    this.hi = 0;
    this.live = 0;
    this.freeHead = -1;
    this.runLo = this.runHi = 0;
    this.runMembers = this.runDead = 0;
    this.parked.length = 0;
    this.areas.clear();
  }
}
