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
 *   only when it stops being white), so its capacity is the snapshot size.
 * - A queued or in-progress object that is freed meanwhile is skipped: its slot is no longer
 *   live, and the table parks freed slots until the scan ends.
 * - The hot loop allocates nothing: the grey queue and the range stack are typed arrays.
 */

import { AddressSnapshot, BIAS, PAGE_INDEX_MASK, PAGE_WHITE_MAX, PAGE_WHITE_ONE } from './address-index.js';
import { crc32, isAllZero } from './crc32.js';
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

export class ScanRun {
  newLeaks = 0;
  done = false;
  aborted = false;
  private phase = Phase.Flood1;
  private queue: Uint32Array;
  /** End of the queue segment already put in address order (see flood). */
  private sortedTo = 0;
  private qHead = 0;
  private qTail = 0;
  private ranges = new Uint32Array(3 * 64);
  private rTop = 0;
  private cursor = 0;
  /** Int32, not Uint32: V8 loads u32 values >= 2^31 as doubles, several times slower. */
  private i32: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private u8: Uint8Array<ArrayBufferLike> = new Uint8Array(0);

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
  ) {
    this.queue = new Uint32Array(Math.max(1, snap.n));
    // The snapshot's page words carry white counts from here on (zero after build()).
  }

  /** Whitens the snapshot's objects and queues the grey ones; adds the root ranges. */
  begin(roots: ArrayLike<number>, rootCount: number): void {
    const minCount = this.t.minCount;
    const snap = this.snap;
    const ent = snap.ent;
    const shift = snap.shift;
    const q = this.queue;
    const page = snap.page;
    let qTail = 0;
    for (let e = 0, k = 0, n = snap.n; e < n; e++, k += 4) {
      const m = minCount[ent[k + 2]];
      ent[k + 3] = m > 0 ? m : 0;
      if (m === 0) q[qTail++] = e;
      if (m > 0) {
        const last = (((ent[k + 1] ^ BIAS) >>> 0) - 1) >>> shift;
        for (let p = ((ent[k] ^ BIAS) >>> 0) >>> shift; p <= last; p++) {
          if (page[p] < PAGE_WHITE_MAX) page[p] += PAGE_WHITE_ONE;
        }
      }
    }
    this.qTail = qTail;
    for (let r = 0; r < rootCount; r++) this.pushRange(roots[2 * r], roots[2 * r + 1], NO_OWNER);
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
    const buf = this.getBuffer();
    if (!buf) {
      this.i32 = new Int32Array(0);
      this.u8 = new Uint8Array(0);
    } else if (this.u8.buffer !== buf || this.u8.length !== buf.byteLength) {
      this.i32 = new Int32Array(buf, 0, buf.byteLength >>> 2);
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
          budget = this.flood(budget);
          if (budget > 0) this.phase = this.phase === Phase.Flood1 ? Phase.Checksum : Phase.Report;
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
        this.scanWords(ws, ws + n, owner);
        budget -= n;
        if (ws + n >= we) this.rTop = top;
        else this.ranges[top] = ws + n;
        continue;
      }
      if (this.qHead === this.qTail) return budget;
      if (this.qHead >= this.sortedTo) {
        // A new generation of grey objects: scan it in address order (entry order), so memory
        // is read forwards instead of at random (cache and TLB misses dominate otherwise).
        if (this.qTail - this.qHead >= SORT_MIN) this.queue.subarray(this.qHead, this.qTail).sort();
        this.sortedTo = this.qTail;
      }
      const s = this.snap.ent[4 * this.queue[this.qHead++] + 2];
      budget -= OBJECT_COST;
      const f = flags[s];
      if (!(f & F_ALLOCATED) || f & F_NO_SCAN) continue;
      const start = t.start[s];
      if (f & F_HAS_AREAS) {
        const list = t.areas.get(s);
        if (list) {
          // Pushed in reverse so the stack scans them in the order they were added.
          for (let k = list.length - 2; k >= 0; k -= 2) {
            this.pushRange(start + list[k], start + list[k] + list[k + 1], s);
          }
        }
      } else {
        // Small enough for this chunk: scan now, without a trip through the range stack.
        const ws = Math.ceil(start / 4);
        let we = Math.floor((start + t.size[s]) / 4);
        if (we > this.i32.length) we = this.i32.length;
        if (we - ws <= budget) {
          if (we > ws) {
            this.scanWords(ws, we, s);
            budget -= we - ws;
          }
        } else this.pushRange(start, start + t.size[s], s);
      }
    }
    return budget;
  }

  /**
   * The hot loop: every aligned word of [ws, we) that passes the min/max filter and falls inside a
   * white object other than `owner` counts one reference; reaching min_count turns it grey.
   * Four words at a time are tested against the filter first (most words fail it), and the page's
   * white count rejects pointers into pages holding no white object before the entry is read.
   */
  private scanWords(ws: number, we: number, owner: number): void {
    const mem = this.i32;
    const snap = this.snap;
    const lo = snap.lo;
    const span = snap.span;
    const ent = snap.ent;
    const page = snap.page;
    const shift = snap.shift;
    const flags = this.t.flags;
    const q = this.queue;
    let qTail = this.qTail;
    for (let w = ws; w < we; w += 4) {
      if (
        w + 4 <= we &&
        (mem[w] - lo) >>> 0 >= span &&
        (mem[w + 1] - lo) >>> 0 >= span &&
        (mem[w + 2] - lo) >>> 0 >= span &&
        (mem[w + 3] - lo) >>> 0 >= span
      ) {
        continue;
      }
      const xe = w + 4 < we ? w + 4 : we;
      for (let x = w; x < xe; x++) {
        // The word's offset from the lowest object, modulo 2^32: one unsigned compare is the
        // min/max filter.
        const d = (mem[x] - lo) >>> 0;
        if (d >= span) continue;
        const pg = page[d >>> shift];
        // No white object overlaps this page: nothing here can be counted.
        if (pg < PAGE_WHITE_ONE) continue;
        const db = d ^ BIAS;
        let k = (pg & PAGE_INDEX_MASK) << 2;
        while (ent[k + 1] <= db) k += 4;
        if (ent[k] > db) continue;
        const need = ent[k + 3];
        // need 0: grey, black, or already counted enough.
        if (need <= 0) continue;
        const s = ent[k + 2];
        // Self references do not count; a block freed while the scan yielded is gone.
        if (s === owner || !(flags[s] & F_ALLOCATED)) continue;
        ent[k + 3] = need - 1;
        if (need === 1) {
          q[qTail++] = k >> 2;
          this.unwhite(k);
        }
      }
    }
    this.qTail = qTail;
  }

  /** Entry at offset k stopped being white: its pages hold one white object fewer. */
  private unwhite(k: number): void {
    const ent = this.snap.ent;
    const shift = this.snap.shift;
    const page = this.snap.page;
    const last = (((ent[k + 1] ^ BIAS) >>> 0) - 1) >>> shift;
    for (let p = ((ent[k] ^ BIAS) >>> 0) >>> shift; p <= last; p++) {
      if (page[p] < PAGE_WHITE_MAX) page[p] -= PAGE_WHITE_ONE;
    }
  }

  /** The checksum pass over the snapshot's white objects. */
  private checksums(budget: number): number {
    const snap = this.snap;
    const t = this.t;
    const ent = snap.ent;
    const flags = t.flags;
    const memBytes = this.u8.length;
    while (budget > 0 && this.cursor < snap.n) {
      const e = this.cursor++;
      budget -= OBJECT_COST;
      if (ent[4 * e + 3] <= 0) continue;
      const s = ent[4 * e + 2];
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
      const changed = f & F_CSUM_VALID ? crc !== t.checksum[s] : !isAllZero(this.u8, start, len);
      t.checksum[s] = crc;
      flags[s] = f | F_CSUM_VALID;
      if (changed && this.greyChanged) {
        ent[4 * e + 3] = 0;
        this.queue[this.qTail++] = e;
        this.unwhite(4 * e);
      }
    }
    return this.cursor < snap.n ? 0 : budget;
  }

  /** Flags the new leaks: white, allocated, not reported, old enough at the scan's start. */
  private report(budget: number): number {
    const snap = this.snap;
    const t = this.t;
    const ent = snap.ent;
    const flags = t.flags;
    const jiffies = t.jiffies;
    const startJ = this.startJiffies;
    const minAge = this.minAge;
    while (budget > 0 && this.cursor < snap.n) {
      const e = this.cursor++;
      budget -= 2;
      if (ent[4 * e + 3] <= 0) continue;
      const s = ent[4 * e + 2];
      const f = flags[s];
      if (f & F_REPORTED || !(f & F_ALLOCATED)) continue;
      if ((startJ - jiffies[s]) >>> 0 < minAge) continue;
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
    const ent = snap.ent;
    const count = t.count;
    const minCount = t.minCount;
    const flags = t.flags;
    for (let e = 0, k = 0; e < snap.n; e++, k += 4) {
      const s = ent[k + 2];
      if (!(flags[s] & F_ALLOCATED)) continue;
      const m = minCount[s];
      const need = ent[k + 3];
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
