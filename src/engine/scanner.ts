/**
 * One kmemleak scan, as a resumable state machine so the same code runs to completion (scan())
 * or in chunks between which the program keeps running (scanAsync()).
 *
 * Order, as kmemleak_scan(): the caller has whitened the objects and seeded the grey queue
 * (`begin`); then the roots and every grey object are scanned until the queue is empty (FLOOD1);
 * then each white object's CRC32 is recomputed and an object whose content changed since the
 * previous scan turns grey for this scan and is queued (CHECKSUM); the queue is drained again
 * (FLOOD2); finally white, allocated, not yet reported objects old enough at the scan's start are
 * flagged reported (REPORT).
 *
 * Invariants:
 * - Only aligned 4-byte little-endian words fully inside a range are read; ranges are clipped to
 *   the current memory, and the views are re-taken at every step (memory can grow and be replaced).
 * - Colour state lives in the snapshot's entries (`need`, see address-index.ts) while the scan
 *   runs and is written back to the table's counts when it completes (or, for white objects,
 *   cleared to "no colour" when it is abandoned).
 * - The grey queue holds entry indices and receives each entry at most once (an entry is queued
 *   only when it stops being white). It is bounded (an eighth of the snapshot, at least
 *   scanQueueMin): an entry that turns grey while it is full gets a bit in `pend` instead, and
 *   when the queue runs empty it is refilled from those bits in entry order (a GC's mark-stack
 *   overflow, handled by a sweep). Each generation of the queue is sorted into address order
 *   before it is scanned: the result does not depend on the order (the grey set is a fixpoint),
 *   and memory is then read forwards.
 * - Words are scanned in two halves (the loops in scan-words.ts): collect() filters them into a candidate buffer, resolve()
 *   counts them. No candidate is pending when a step returns, so nothing stale survives a yield.
 *   collect() keeps a word only if the snapshot's white bitmap has its granule set (a superset of
 *   the granules holding white bytes: fillWhiteBits() sets them from `need` before the first
 *   JavaScript flood step, unwhite() clears only granules entirely inside the object), so
 *   pointers into grey objects mostly cost no index read. resolve() may reorder a
 *   batch (bucketed by address): counting is order-independent, like the grey set itself.
 * - An object freed while the scan runs (between chunks) is forgotten (forget(): need 0), and a
 *   queued or in-progress one is skipped: its slot is no longer live, and the table parks freed
 *   slots until the scan ends.
 * - `whites` counts the entries still white; a flood that leaves none ends the scan there (no
 *   checksum or report pass has anything to do).
 * - Reading ahead (floodQueue, sparse generations of small objects) only loads words; it changes
 *   nothing, so the result does not depend on it.
 * - A flood that runs to completion (unlimited budget) goes to the WebAssembly kernel when the
 *   run has the heap's WebAssembly.Memory (kernel/flood-kernel.ts): same queue semantics, its own
 *   white bitmap; `need` comes back, and this bitmap is marked stale.
 * - The hot loops allocate nothing: queue, candidates and the range stack are typed arrays.
 */

import { AddressSnapshot } from './address-index.js';
import {
  bucketByAddress, clearWhite, collect, collectSmall, radixPassU32, resolveLarge, resolveSmall, sortByBitmap,
} from './scan-words.js';
import { crc32, isAllZero } from './crc32.js';
import { FloodSession, type HeapMemory } from './kernel/flood-kernel.js';
import { ScanScratch } from './scan-scratch.js';
import {
  COUNT_NONE,
  F_ALLOCATED,
  F_CSUM_VALID,
  F_HAS_AREAS,
  F_NO_SCAN,
  F_REPORTED,
  type ObjectTable,
} from './object-table.js';

/** "Not scanning an object": roots have no owner. */
export const NO_OWNER = 0xffffffff;

const enum Phase {
  Flood1,
  Checksum,
  Flood2,
  Report,
  Done,
}

/** Words of work charged for visiting an object (keeps chunks short with many tiny objects). */
const OBJECT_COST = 16;
/** Queue segments at least this long are sorted into address order before they are scanned. */
const SORT_MIN = 64;
/** Candidate batches at least this long are bucketed by the top BUCKET_BITS of their offset. */
const BUCKET_MIN = 256;
const BUCKET_BITS = 12;
/** Queue segments at least this long are radix sorted (digits of at most QUEUE_RADIX_BITS). */
const RADIX_MIN = 4096;
const QUEUE_RADIX_BITS = 12;
/**
 * Candidate buffer bounds: as many candidates as objects, within these. A large batch, bucketed by
 * address, turns resolve's index reads into a forward sweep; past 256K (1 MiB, and as much again
 * for the bucketed copy) the buffer mostly costs memory: the exit scan of 1M objects (graph) took
 * 2% more CPU with 256K than with 1M, and 4.8 MiB less at its peak (the exit scan's own arrays
 * outgrow the memory the index lends it, so the candidate buffers are new pages; issue 15).
 */
const CAND_MIN = 1 << 14;
/**
 * Memory-level parallelism for sparse generations: floodQueue first reads one word of each of the
 * next TOUCH_AHEAD queued objects in a tight loop, so their cache misses overlap instead of each
 * stalling the scan of one object (~15% on a 1M-node tree). Where objects are large or a generation
 * is dense the prefetcher already does this and the extra reads cost ~10%: hence the conditions.
 */
const TOUCH_AHEAD = 16;
const TOUCH_GAP = 256;
const TOUCH_MAX_SIZE = 128;
const CAND_MAX = 1 << 18;
/** The grey queue holds max(scanQueueMin, n >> QUEUE_SHIFT) entries, at most n (see ScanRun.push). */
const QUEUE_SHIFT = 3;
/** The end of a 4 GiB memory: where object ends are clipped. */
const MEM_END = 2 ** 32;

export class ScanRun {
  newLeaks = 0;
  done = false;
  /** Whether a flood of this scan ran in the WebAssembly kernel. */
  usedKernel = false;
  aborted = false;
  private phase = Phase.Flood1;
  /** The grey queue: entry indices, at most qCap of them (see push and refill). */
  private readonly queue: Uint32Array;
  private readonly qCap: number;
  /**
   * Grey entries that did not fit the queue, one bit an entry (allocated when the queue is shorter
   * than the snapshot), and whether any may be set: they are queued when the queue runs empty,
   * as a garbage collector handles mark-stack overflow.
   */
  private readonly pend: Int32Array;
  private mayPend = false;
  /** The word of `pend` where the next refill starts (the last one stopped there, queue full). */
  private pendFrom = 0;
  /** resolveSmall's queue tail, in and out. */
  private readonly io = new Int32Array(1);
  /** End of the queue segment already put in address order (see flood). */
  private sortedTo = 0;
  /** Candidate word offsets awaiting resolve(). */
  private readonly cand: Int32Array;
  /** cand bucketed by address (resolve's scratch) and the bucket counts. */
  private readonly candSorted: Int32Array;
  private readonly buckets = new Int32Array(1 << BUCKET_BITS);
  /** sortSegment's bitmap of entry indices (dense segments), allocated on first use. */
  private sortBits: Int32Array = new Int32Array(0);
  private nCand = 0;
  /** The snapshot's white bitmap does not reflect `need` yet (fillWhiteBits before a JS flood). */
  private bitsStale = true;
  /** Entries still white (need > 0): when none is left after the flood, the scan is over. */
  private whites = 0;
  /** Sum of the words read ahead (kept so the reads are not optimised away). */
  sink = 0;
  private touchAhead = 0;
  /** Objects average at most TOUCH_MAX_SIZE bytes (span / count): scanning one costs less than a miss. */
  private readonly smallObjects: boolean;
  private qHead = 0;
  private qTail = 0;
  private ranges = new Uint32Array(3 * 64);
  private rTop = 0;
  private cursor = 0;
  /** Int32, not Uint32: V8 loads u32 values >= 2^31 as doubles, several times slower. */
  private i32: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private u8: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  /**
   * LeakSanitizer's use_unaligned: a pointer may start at any byte (the caller floods in
   * JavaScript: the kernel reads aligned words only). Objects are scanned to their exact bytes;
   * roots and ranges pushed for scan areas keep their word bounds.
   */
  unaligned = false;

  /**
   * @param startJiffies the scan's start time (minimum age is measured to it)
   * @param minAge minimum age in ms for reporting
   * @param greyChanged whether the checksum pass greys changed objects (false for the exit scan,
   *   which still records checksums for the report)
   */
  constructor(
    private readonly t: ObjectTable,
    private readonly snap: AddressSnapshot,
    private readonly getBuffer: () => ArrayBufferLike | null,
    readonly startJiffies: number,
    readonly minAge: number,
    private readonly greyChanged: boolean,
    /** The heap's WebAssembly.Memory for the flood kernel (complete floods only), or null. */
    private heap: HeapMemory | null = null,
    /** The queue's least length (EngineOptions.scanQueueMin). */
    queueMin = 1 << 16,
    /** Where the queue, candidate batches and sort bitmap come from (lent memory at exit). */
    private readonly scratch = new ScanScratch(),
  ) {
    // A bounded queue (issue 12, peak memory): 4 bytes an object for a queue as long as the
    // snapshot, when an eighth of it rarely overflows (a generation of a BFS over a tree).
    this.qCap = Math.max(1, Math.min(snap.n, Math.max(queueMin, snap.n >>> QUEUE_SHIFT)));
    this.queue = scratch.u32(this.qCap);
    this.pend = scratch.i32(this.qCap < snap.n ? Math.ceil(snap.n / 32) : 0);
    const cap = Math.min(Math.max(snap.n, CAND_MIN), CAND_MAX);
    this.smallObjects = snap.n > 0 && snap.span / snap.n <= TOUCH_MAX_SIZE;
    this.cand = scratch.i32(cap);
    this.candSorted = scratch.i32(cap);
    // The snapshot's white bitmap is filled by fillWhiteBits() when a JavaScript flood needs it.
  }

  /**
   * Whitens the snapshot's objects and queues the grey ones; adds the root ranges. The white
   * bitmap is filled when the JavaScript flood first needs it (a kernel flood keeps its own).
   */
  begin(roots: ArrayLike<number>, rootCount: number): void {
    const minCount = this.t.minCount;
    const snap = this.snap;
    const ord = snap.ord;
    const need = snap.need;
    let whites = 0;
    for (let e = 0, n = snap.n; e < n; e++) {
      const m = minCount[ord[e]];
      need[e] = m > 0 ? m : 0;
      if (m === 0) this.push(e);
      if (m > 0) whites++;
    }
    this.whites = whites;
    this.bitsStale = true;
    for (let r = 0; r < rootCount; r++) this.pushRange(roots[2 * r], roots[2 * r + 1], NO_OWNER);
  }

  /** Sets the white bitmap from the entries' need: every granule a white entry overlaps. */
  private fillWhiteBits(): void {
    const snap = this.snap;
    const need = snap.need;
    const gshift = snap.gshift;
    const bits = snap.whiteBits;
    bits.fill(0);
    const { ord, lo } = snap;
    const { start, size } = this.t;
    for (let e = 0, n = snap.n; e < n; e++) {
      if (need[e] === 0) continue;
      const s = ord[e];
      const st = start[s];
      const sz = size[s];
      // The last byte's offset: [st, st + max(sz, 1)) capped at 2^32.
      const endByte = st + (sz === 0 ? 1 : sz);
      const last = ((endByte > MEM_END ? MEM_END : endByte) - 1 - lo) >>> gshift;
      for (let g = (st - lo) >>> gshift; g <= last; g++) bits[g >>> 5] |= 1 << (g & 31);
    }
    this.bitsStale = false;
  }

  private pushRange(startByte: number, endByte: number, owner: number): void {
    // Words entirely inside [start, end): kmemleak aligns the start up and stops 3 bytes short.
    const ws = Math.ceil(startByte / 4);
    const we = Math.floor(endByte / 4);
    if (we <= ws) return;
    if (this.rTop + 3 > this.ranges.length) {
      const next = new Uint32Array(this.ranges.length * 2);
      next.set(this.ranges);
      this.ranges = next;
    }
    this.ranges[this.rTop] = ws;
    this.ranges[this.rTop + 1] = we;
    this.ranges[this.rTop + 2] = owner;
    this.rTop += 3;
  }

  private refreshViews(): void {
    this.snap.refresh(this.t); // the table may have grown between chunks
    const buf = this.getBuffer();
    if (!buf) {
      this.i32 = new Int32Array(0);
      this.u8 = new Uint8Array(0);
    } else if (this.u8.buffer !== buf || this.u8.length !== buf.byteLength) {
      this.i32 = new Int32Array(buf, 0, Math.floor(buf.byteLength / 4)); // 4 GiB: 2^32 >>> 2 is 0
      this.u8 = new Uint8Array(buf);
    }
  }

  /** Runs at most about `budget` words of work; returns true when the scan is complete. */
  step(budget: number): boolean {
    this.refreshViews();
    while (budget > 0 && this.phase !== Phase.Done) {
      switch (this.phase) {
        case Phase.Flood1:
        case Phase.Flood2:
          if (budget !== Infinity || !this.floodInKernel()) budget = this.flood(budget);
          if (budget > 0) {
            if (this.whites === 0) {
              // Nothing white is left (a heap fully reachable): no checksum to take, no leak to flag.
              this.writeBack(false);
              this.phase = Phase.Done;
            } else this.phase = this.phase === Phase.Flood1 ? Phase.Checksum : Phase.Report;
          }
          break;
        case Phase.Checksum:
          budget = this.checksums(budget);
          if (budget > 0) {
            this.phase = Phase.Flood2;
            this.cursor = 0;
          }
          break;
        case Phase.Report:
          budget = this.report(budget);
          if (budget > 0) {
            this.writeBack(false);
            this.phase = Phase.Done;
          }
          break;
      }
    }
    this.done = this.phase === Phase.Done;
    return this.done;
  }

  /** Scans ranges and grey objects until both are exhausted or the budget is spent. */
  private flood(budget: number): number {
    if (this.bitsStale) this.fillWhiteBits();
    const t = this.t;
    const flags = t.flags;
    while (budget > 0) {
      if (this.rTop > 0) {
        const top = this.rTop - 3;
        const owner = this.ranges[top + 2];
        if (owner !== NO_OWNER && !(flags[owner] & F_ALLOCATED)) {
          this.rTop = top; // freed while queued: nothing left to scan
          continue;
        }
        const ws = this.ranges[top];
        let we = this.ranges[top + 1];
        if (we > this.i32.length) we = this.i32.length;
        if (ws >= we) {
          this.rTop = top;
          continue;
        }
        const n = we - ws > budget ? budget : we - ws;
        this.scanWords(ws, ws + n);
        budget -= n;
        if (ws + n >= we) this.rTop = top;
        else this.ranges[top] = ws + n;
        continue;
      }
      if (this.qHead === this.qTail) {
        // Empty: start again at the front (nothing in floodQueue holds a queue position now).
        this.qHead = this.qTail = this.sortedTo = 0;
        if (this.nCand > 0) this.resolve();
        else if (this.mayPend) this.refill();
        else return budget;
        continue;
      }
      budget = this.floodQueue(budget);
    }
    this.resolve();
    return budget;
  }

  /**
   * The whole flood in the WebAssembly kernel (budget unlimited): pending ranges, then the queue.
   * False, with nothing changed, when there is no kernel or no scratch room: the caller floods in
   * JavaScript (and this run stops asking).
   */
  private floodInKernel(): boolean {
    const heap = this.heap;
    if (!heap) return false;
    this.resolve();
    const t = this.t;
    const flags = t.flags;
    const snap = this.snap;
    const s = FloodSession.open(heap, snap, t, this.ranges, this.rTop, this.whites);
    if (!s) {
      this.heap = null;
      return false;
    }
    let whites: number;
    try {
      for (let top = this.rTop - 3; top >= 0; top -= 3) {
        const owner = this.ranges[top + 2];
        if (owner !== NO_OWNER && !(flags[owner] & F_ALLOCATED)) continue;
        s.scanRange(this.ranges[top], this.ranges[top + 1]);
      }
      s.enqueue(this.queue, this.qHead, this.qTail);
      while (this.mayPend) {
        this.refill();
        s.enqueue(this.queue, 0, this.qTail);
      }
      for (let e = s.flood(); e >= 0; e = s.flood()) {
        // An object with scan areas: only those are scanned (the kernel counted the object grey).
        const slot = snap.ord[e];
        const list = t.areas.get(slot);
        if (!list) continue;
        const st = t.start[slot];
        for (let k = 0; k < list.length; k += 2) {
          s.scanRange(Math.ceil((st + list[k]) / 4), Math.floor((st + list[k] + list[k + 1]) / 4));
        }
      }
      whites = s.close(snap.need);
    } catch (e) {
      s.abandon();
      throw e;
    } finally {
      this.refreshViews(); // the memory may have grown for the scratch: the old views are detached
    }
    // The queue's entries were all scanned there; the ones it queued never enter this queue.
    this.rTop = 0;
    this.qHead = this.qTail;
    this.sortedTo = this.qTail;
    this.whites = whites;
    this.bitsStale = true;
    this.usedKernel = true;
    return true;
  }

  /**
   * Scans queued grey objects until the queue is empty, the budget is spent, or an object needs
   * the range stack (scan areas, or too big for the rest of this chunk). The common case (a plain
   * object) stays in this loop with its arrays in locals.
   */
  private floodQueue(budget: number): number {
    const t = this.t;
    const ord = this.snap.ord;
    const start = t.start;
    const size = t.size;
    const q = this.queue;
    const flags = t.flags;
    const memWords = this.i32.length;
    let qHead = this.qHead;
    let touchedTo = qHead;
    let touchAhead = this.touchAhead;
    let sink = 0;
    while (budget > 0 && qHead < this.qTail) {
      if (qHead >= this.sortedTo) {
        // A new generation of grey objects: scan it in address order (entry order), so memory
        // is read forwards instead of at random (cache and TLB misses dominate otherwise).
        if (this.qTail - qHead >= SORT_MIN) this.sortSegment(qHead, this.qTail);
        this.sortedTo = this.qTail;
        // A sparse generation of small objects (several cache lines apart on average) defeats
        // the hardware prefetcher: then read ahead (see TOUCH_AHEAD).
        const n = this.qTail - qHead;
        const gap = n > 1 ? ((start[ord[q[this.qTail - 1]]] - start[ord[q[qHead]]]) >>> 0) / n : 0;
        touchAhead = gap > TOUCH_GAP && this.smallObjects ? TOUCH_AHEAD : 0;
      }
      if (qHead >= touchedTo && touchAhead > 0) {
        let lim = qHead + touchAhead;
        if (lim > this.sortedTo) lim = this.sortedTo;
        const i32 = this.i32;
        for (let j = qHead; j < lim; j++) {
          const a = start[ord[q[j]]] >>> 2;
          if (a < memWords) sink += i32[a];
        }
        touchedTo = lim;
      }
      const s = ord[q[qHead++]];
      budget -= OBJECT_COST;
      const f = flags[s];
      if (!(f & F_ALLOCATED) || f & F_NO_SCAN) continue;
      // A zero-sized object has no whole word; ends are capped at 2^32.
      const st = start[s];
      const sz = size[s];
      const end = st + sz > MEM_END ? MEM_END : st + sz;
      if (f & F_HAS_AREAS) {
        const list = t.areas.get(s);
        if (list) {
          // Pushed in reverse so the stack scans them in the order they were added.
          for (let k = list.length - 2; k >= 0; k -= 2) this.pushRange(st + list[k], st + list[k] + list[k + 1], s);
        }
        break;
      }
      if (this.unaligned) {
        this.qHead = qHead;
        this.scanBytes(st, end);
        budget -= (end - st) >>> 2;
        continue;
      }
      const ws = Math.ceil(st / 4);
      let we = Math.floor(end / 4);
      if (we > memWords) we = memWords;
      if (we - ws > budget) {
        this.pushRange(st, end, s);
        break;
      }
      if (we > ws) {
        this.qHead = qHead;
        this.scanWords(ws, we);
        budget -= we - ws;
      }
    }
    this.qHead = qHead;
    this.sink = (this.sink + sink) | 0;
    this.touchAhead = touchAhead;
    return budget;
  }

  /**
   * Sorts queue[from, to) ascending (distinct entry indices < snap.n). A segment already in order
   * (the first generation is queued in entry order) is left alone; short ones take the built-in
   * sort; a dense one (at least 1/256 of the entries) goes through a bitmap of entry indices (set,
   * then read back in order: n/8 bytes, not a second queue); a sparser one is radix sorted through
   * candSorted, which is free outside resolve() and holds at least n/256 words for any n below
   * 256M (a longer segment takes the bitmap). The built-in sort costs ~70 ms for 1M random
   * entries, these ~10.
   */
  private sortSegment(from: number, to: number): void {
    const q = this.queue;
    let sorted = true;
    for (let i = from + 1; i < to; i++) {
      if (q[i] < q[i - 1]) {
        sorted = false;
        break;
      }
    }
    if (sorted) return;
    const n = to - from;
    if (n < RADIX_MIN) {
      q.subarray(from, to).sort();
      return;
    }
    if (n * 256 >= this.snap.n || n > this.candSorted.length) {
      if (this.sortBits.length === 0) this.sortBits = this.scratch.i32(Math.ceil(this.snap.n / 32) + 1);
      sortByBitmap(q, from, to, this.sortBits);
      return;
    }
    const tmp = new Uint32Array(this.candSorted.buffer, this.candSorted.byteOffset, this.candSorted.length);
    let bits = 1;
    while (bits < 32 && this.snap.n > 2 ** bits) bits++;
    const passes = Math.ceil(bits / QUEUE_RADIX_BITS);
    const per = Math.ceil(bits / passes);
    // Passes between q[from, to) and tmp[0, n).
    let a: Uint32Array = q;
    let aFrom = from;
    let b: Uint32Array = tmp;
    let bFrom = 0;
    for (let p = 0; p < passes; p++) {
      radixPassU32(a, aFrom, b, bFrom, n, p * per, per, this.buckets);
      [a, b] = [b, a];
      [aFrom, bFrom] = [bFrom, aFrom];
    }
    if (a !== q) q.set(a.subarray(aFrom, aFrom + n), from);
  }

  /**
   * Scans words [ws, we): candidates are collected (collect) and resolved in batches (resolve),
   * so the random reads of the index overlap instead of each one stalling on a mispredicted
   * branch. No owner check is needed for kmemleak's "a reference from an object to itself does
   * not count": an object is scanned only once it is grey (need 0), so a word pointing into
   * itself can never count.
   */
  private scanWords(ws: number, we: number): void {
    if (this.unaligned) {
      this.scanBytes(4 * ws, 4 * we);
      return;
    }
    const snap = this.snap;
    const cap = this.cand.length;
    while (ws < we) {
      // Each word yields at most one candidate: never collect more than the buffer's room.
      if (cap - this.nCand < 1024) this.resolve();
      const room = cap - this.nCand;
      const end = we - ws > room ? ws + room : we;
      this.nCand = snap.small
        ? collectSmall(this.i32, ws, end, snap.lo, snap.span, snap.whiteBits, snap.gshift, this.cand, this.nCand)
        : collect(this.i32, ws, end, snap.lo, snap.span, snap.whiteBits, snap.gshift, this.cand, this.nCand);
      ws = end;
    }
  }

  /** use_unaligned: the 4-byte value at every byte offset of mem[bs, be) (no fast filter: an option). */
  private scanBytes(bs: number, be: number): void {
    const snap = this.snap;
    const u8 = this.u8;
    if (be > u8.length) be = u8.length;
    const cap = this.cand.length;
    const lo = snap.lo;
    const span = snap.span;
    const bits = snap.whiteBits;
    const gshift = snap.gshift;
    const cand = this.cand;
    for (let p = bs; p + 4 <= be; ) {
      if (cap - this.nCand < 1024) this.resolve();
      let nc = this.nCand;
      const stop = Math.min(be - 3, p + (cap - nc));
      for (; p < stop; p++) {
        const v = u8[p]! | (u8[p + 1]! << 8) | (u8[p + 2]! << 16) | (u8[p + 3]! << 24);
        const d = (v - lo) >>> 0;
        if (d >= span) continue;
        cand[nc] = d;
        const g = d >>> gshift;
        nc += (bits[g >>> 5]! >>> (g & 31)) & 1;
      }
      this.nCand = nc;
    }
  }

  /** Resolves the pending candidates; objects turning grey are queued. */
  private resolve(): void {
    const nc = this.nCand;
    if (nc === 0) return;
    this.nCand = 0;
    const snap = this.snap;
    const q0 = this.qTail;
    let cand = this.cand;
    if (nc >= BUCKET_MIN) {
      // Bucketed by address, the index reads of a batch go forwards: fewer TLB and cache misses
      // (spans of 2 GiB and more too: bucketByAddress shifts unsigned).
      let top = 0;
      while (top < 31 && snap.span > 2 ** (top + BUCKET_BITS)) top++;
      bucketByAddress(cand, nc, top, this.buckets, this.candSorted);
      cand = this.candSorted;
    }
    const io = this.io;
    io[0] = q0;
    const greyed = snap.small
      ? resolveSmall(cand, nc, snap.ord, snap.start32, snap.size32, snap.lo | 0, snap.need, snap.page, snap.shift, this.queue, this.qCap, this.pend, io, snap.whiteBits, snap.gshift)
      : resolveLarge(cand, nc, snap, this.queue, this.qCap, this.pend, io);
    this.whites -= greyed;
    this.qTail = io[0];
    if (greyed > io[0] - q0) this.mayPend = true;
  }

  /** Queues a grey entry, or marks it pending when the queue is full. */
  private push(e: number): void {
    if (this.qHead === this.qTail) this.qHead = this.qTail = this.sortedTo = 0;
    if (this.qTail < this.qCap) this.queue[this.qTail++] = e;
    else {
      this.pend[e >>> 5] |= 1 << (e & 31);
      this.mayPend = true;
    }
  }

  /**
   * The queue is empty (and at the front): fills it with pending entries, in entry order from
   * where the last refill stopped, until it is full or none is left.
   */
  private refill(): void {
    const pend = this.pend;
    const words = pend.length;
    const q = this.queue;
    const cap = this.qCap;
    let qTail = 0;
    for (let k = 0, w = this.pendFrom; k < words; k++, w = w + 1 === words ? 0 : w + 1) {
      let x = pend[w];
      while (x !== 0 && qTail < cap) {
        q[qTail++] = (w << 5) + 31 - Math.clz32(x & -x);
        x &= x - 1;
      }
      pend[w] = x;
      if (x !== 0) {
        this.pendFrom = w; // the queue is full
        this.qTail = qTail;
        return;
      }
    }
    this.pendFrom = 0;
    this.mayPend = false;
    this.qTail = qTail;
  }

  /**
   * Entry e stopped being white: the granules entirely inside it no longer hold white bytes
   * (intervals are disjoint). Granules it shares with a neighbour keep their bit.
   */
  private unwhite(e: number): void {
    if (this.bitsStale) return; // refilled from need before it is read
    const snap = this.snap;
    clearWhite(snap.whiteBits, snap.startOf(e), snap.endOf(e), snap.gshift);
  }

  /**
   * The object in `slot` (starting at `start`) was freed while this scan runs: it can no longer
   * be counted, coloured or reported by it.
   */
  forget(slot: number, start: number): void {
    if (this.done) return;
    const e = this.snap.lookup(start);
    if (e < 0 || this.snap.ord[e] !== slot) return;
    if (this.snap.need[e] > 0) {
      this.snap.need[e] = 0;
      this.whites--;
      this.unwhite(e);
    }
  }

  /** The checksum pass over the snapshot's white objects. */
  private checksums(budget: number): number {
    const snap = this.snap;
    const t = this.t;
    const ord = snap.ord;
    const need = snap.need;
    const flags = t.flags;
    const memBytes = this.u8.length;
    while (budget > 0 && this.cursor < snap.n) {
      const e = this.cursor++;
      budget -= OBJECT_COST;
      if (need[e] === 0) continue;
      const s = ord[e];
      const f = flags[s];
      if (!(f & F_ALLOCATED)) continue;
      const start = t.start[s];
      let end = start + t.size[s];
      if (end > memBytes) end = memBytes;
      const len = end > start ? end - start : 0;
      budget -= len >>> 2;
      const crc = crc32(this.u8, this.i32, start, len);
      // kmemleak's checksum starts at 0 and its CRC of zeroes is 0: a block that was never
      // checksummed has "changed" unless it is all zeroes.
      const changed = f & F_CSUM_VALID ? crc !== t.checksumOf(s) : !isAllZero(this.u8, this.i32, start, len);
      t.setChecksum(s, crc);
      flags[s] = f | F_CSUM_VALID;
      if (changed && this.greyChanged) {
        need[e] = 0;
        this.whites--;
        this.push(e);
        this.unwhite(e);
      }
    }
    return this.cursor < snap.n ? 0 : budget;
  }

  /** Flags the new leaks: white, allocated, not reported, old enough at the scan's start. */
  private report(budget: number): number {
    const snap = this.snap;
    const t = this.t;
    const ord = snap.ord;
    const need = snap.need;
    const flags = t.flags;
    const startJ = this.startJiffies;
    const minAge = this.minAge;
    while (budget > 0 && this.cursor < snap.n) {
      const e = this.cursor++;
      budget -= 2;
      if (need[e] === 0) continue;
      const s = ord[e];
      const f = flags[s];
      if (f & F_REPORTED || !(f & F_ALLOCATED)) continue;
      if ((startJ - t.jiffiesOf(s)) >>> 0 < minAge) continue;
      flags[s] = f | F_REPORTED;
      this.newLeaks++;
    }
    return this.cursor < snap.n ? 0 : budget;
  }

  /**
   * Writes the colours back to the table as kmemleak's counts: a white object keeps the
   * references found; grey ones have count = min_count (kmemleak stops counting there, and the
   * checksum pass sets it so); black and min_count 0 objects have 0.
   */
  private writeBack(abandoned: boolean): void {
    const snap = this.snap;
    const t = this.t;
    const ord = snap.ord;
    const needs = snap.need;
    const count = t.count;
    const minCount = t.minCount;
    const flags = t.flags;
    for (let e = 0; e < snap.n; e++) {
      const s = ord[e];
      if (!(flags[s] & F_ALLOCATED)) continue;
      const m = minCount[s];
      const need = needs[e];
      if (need > 0) count[s] = abandoned ? COUNT_NONE : m > need ? m - need : 0;
      else count[s] = m > 0 ? m : 0;
    }
  }

  /**
   * Abandons the scan (off, stop). Counts of a half-finished marking mean nothing, so objects it
   * left white lose their colour until the next complete scan (read() lists none of them).
   */
  abort(): void {
    if (this.done) return;
    this.writeBack(true);
    this.phase = Phase.Done;
    this.done = true;
    this.aborted = true;
  }
}
