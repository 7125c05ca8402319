/**
 * Why: the fast path of the allocation hooks. A call from wasm into JS for every malloc and every
 * free costs more than the malloc itself; the rewriter's wrappers (instrument/wrappers.ts) instead
 * append (ptr, size, handle) to an event log in linear memory when the host already holds the
 * backtrace of the allocation's calling context, and leave wasm only when the log is full or the
 * context is new. This file owns both tables in linear memory:
 *
 *   known-context table  KNOWN_CAPACITY entries of 16 bytes: context (i64), trace handle + 1 (i32,
 *                        0 = empty). Written only here (remember), read by the wrappers.
 *   event log            LOG_CAPACITY events of 12 bytes: ptr, size (0xffffffff = free), handle.
 *                        Written by the wrappers, drained only here (checkpoint, flush).
 *   pending table        the cancel pass's hash (cancel-kernel.ts), PENDING_BYTES; only ours.
 *
 * They live in one block the host takes from the program's own malloc, unwrapped (the rewriter
 * exports it), at the first allocation hook: any other place could be claimed by the allocator
 * (wasi-libc's dlmalloc takes everything up to the memory's end when it starts; Emscripten's sbrk
 * keeps its own break). The block is not an object: never scanned, never reported, and the
 * allocator never hands it out again. When the malloc fails, the fast path stays off.
 *
 * Invariants:
 * - Events are replayed in program order, and before anything that reads or changes the engine
 *   out of band: every slow-path hook, annotation, scan, control command and the exit scan
 *   flushes first (HookWiring.enter does, and the runtime before scans).
 * - Entries of the known-context table are only ever added, never removed or changed: each
 *   wrapper caches the last (context, handle) pair it read from it (instrument/wrappers.ts).
 * - A context enters the table only after its stack was captured while live, so every logged
 *   handle is the exact backtrace of its event; a free's handle is its caller's, for warnings.
 * - flush allocates no JS objects.
 * - A block allocated and freed within one window never reaches the engine (the cancel pass
 *   drops the pair): no scan can run between the two (scans flush first), so the engine could not
 *   have seen it anyway, and a malloc/free churn costs the engine nothing. A free whose allocation
 *   is not in the window (an older block, or a double free) is replayed, warnings included. The
 *   pass runs in WebAssembly over the program's memory (cancel-kernel.ts: in JavaScript it was
 *   the largest cost of random-lifetime churn), at each safe point over the events logged since
 *   the last one; the window itself is replayed only when full or HOLD_MS old (checkpoint), or
 *   when anything needs the engine current (flush). Its events get their creation time then.
 * - The wrappers cancel a pair in place only after their `start` global, which is where the
 *   cancel pass stopped: an event the pass has indexed is never moved or overwritten before the
 *   window is replayed (the table names events by their index in the window).
 */

import { eachEvent } from '../../engine/batch.js';
import { PENDING_BYTES, cancelKernel, cancelPairsReference, type CancelFn } from './cancel-kernel.js';
import { hostNow } from './host-clock.js';

/** Entries in the known-context table (a power of two); filled to at most half. */
export const KNOWN_CAPACITY = 1 << 14;
/**
 * Events the log can hold: its window. Large, so that blocks a program builds and tears down
 * within a few thousand allocations (a std::map, a parse tree, an interpreter's young objects,
 * random-lifetime churn) are allocated and freed within one window, where the cancel pass drops
 * the pair and the engine never sees either (containers: ~0.55 -> ~0.46 s at 16384; random churn
 * over 1024 slots: 1 block in 16 reaches the engine at 32768, 1 in 8 at 16384). The window is
 * replayed when the next batch might not fit in it, or when its events are HOLD_MS old (so
 * creation times stay close). 32768 events take 384 KiB (the index must fit 16 bits).
 */
export const LOG_CAPACITY = 32768;
/** The largest batch between two safe points. */
const MAX_BATCH = 16384;
/** A window is replayed at the first safe point after this long (ms), full or not. */
const HOLD_MS = 20;
/**
 * A safe point (the wrappers' flush hook: checkpoint) is also the host's chance to run a due
 * automatic scan or answer the control file (AutoScan.tick), so the log is not always filled:
 * after each one the next batch is sized to what the program logs in about FLUSH_EVERY_MS at its
 * recent rate, between MIN_BATCH and MAX_BATCH events. An allocation-heavy loop gets full batches; a program that allocates now and then
 * reaches a safe point every MIN_BATCH events, as before the log grew.
 */
export const MIN_BATCH = 256;
const FLUSH_EVERY_MS = 5;
/**
 * A cancel pass that cancels fewer than 1 event in 2^BARREN_SHIFT of at least BARREN_MIN events
 * is barren: the next passes are skipped, 1 then 3, 7, ... up to MAX_SKIP, until one pays again.
 * A program whose blocks all outlive the window (a parse tree built, printed, then freed) has
 * nothing to cancel, and the pass over its events (a hash probe each) is pure cost: ~5% of
 * json's run. Skipping is safe: a pair the pass would have dropped is replayed instead.
 */
const BARREN_MIN = 1024;
const BARREN_SHIFT = 6;
const MAX_SKIP = 63;
const KNOWN_BYTES = 16;
const EVENT_BYTES = 12;
const HASH = 0x9e3779b1;


export interface EventSink {
  /** An allocation of [ptr, ptr+size) with its backtrace handle. */
  alloc(ptr: number, size: number, trace: number): void;
  /** A free of ptr by the code whose backtrace is trace. */
  free(ptr: number, trace: number): void;
  /**
   * The events words[from, to) at once (the engine's batch layout, src/engine/batch.ts: the
   * log's own): replay calls this instead of alloc/free per event when the sink has it.
   */
  batch?(words: Uint32Array, from: number, to: number): void;
}

export interface EventLogGlobals {
  pos: WebAssembly.Global;
  end: WebAssembly.Global;
  start: WebAssembly.Global;
  knownBase: WebAssembly.Global;
  knownMask: WebAssembly.Global;
}

export class EventLog {
  private base = 0;        // known-context table
  private logStart = 0;
  private known = 0;
  private enabled = false;
  private flushing = false;
  /** The cancel pass's table (cancel-kernel.ts), after the log. */
  private pending = 0;
  /** Batch number stamped on pending entries (1..0xffff), so the table is cleared only on wrap. */
  private gen = 0;
  /** The cancel pass in WebAssembly, or null (cancelPairsReference then). */
  private readonly cancel: CancelFn | null;
  /** When the previous flush ended (ms), to size the next batch. */
  private lastFlush = 0;
  /** The end this batch started with (the wrappers lower g.end as they cancel pairs). */
  private batchEnd = 0;
  /** Where the events not yet seen by the cancel pass begin (also the wrappers' `start`). */
  private segStart = 0;
  /** When the window's first event could have been logged (its last replay), in ms. */
  private windowStart = 0;
  /** Cancel passes still to skip, and how many the last barren pass set (see BARREN_MIN). */
  private skipPasses = 0;
  private skipNext = 0;

  constructor(private readonly memory: WebAssembly.Memory, private readonly g: EventLogGlobals, private readonly sink: EventSink,
    /** The clock (ms) that sizes batches and ages windows; tests pass their own. */
    private readonly now: () => number = hostNow) {
    this.cancel = cancelKernel(memory);
  }

  /**
   * Takes the tables' memory from the program's malloc and switches the fast path on; false (and
   * off) when that fails. Call it from a hook, never while the allocator itself runs.
   */
  enable(rawMalloc: (size: number) => number): boolean {
    if (this.enabled) return true;
    const bytes = KNOWN_CAPACITY * KNOWN_BYTES + LOG_CAPACITY * EVENT_BYTES + PENDING_BYTES;
    let block: number;
    try {
      block = rawMalloc(bytes + 16) >>> 0;
    } catch {
      return false;
    }
    // An allocator that returns memory it does not have (a bump allocator that never grows the
    // memory) gets no fast path rather than a host error.
    const base = ((block + 15) & ~15) >>> 0; // unsigned: the block may lie above 2^31
    if (block === 0 || base + bytes > this.memory.buffer.byteLength) return false;
    this.base = base;
    new Uint8Array(this.memory.buffer, this.base, KNOWN_CAPACITY * KNOWN_BYTES).fill(0);
    this.logStart = this.base + KNOWN_CAPACITY * KNOWN_BYTES;
    this.pending = this.logStart + LOG_CAPACITY * EVENT_BYTES;
    new Uint8Array(this.memory.buffer, this.pending, PENDING_BYTES).fill(0);
    this.g.knownMask.value = KNOWN_CAPACITY - 1;
    this.g.pos.value = this.logStart;
    this.g.start.value = this.logStart;
    this.batchEnd = this.logStart + MIN_BATCH * EVENT_BYTES;
    this.g.end.value = this.batchEnd;
    this.segStart = this.logStart;
    this.lastFlush = this.now();
    this.windowStart = this.lastFlush;
    this.gen = 1;
    this.g.knownBase.value = this.base;
    this.enabled = true;
    return true;
  }

  /** Lets the wrappers log events of context (lo, hi) from now on, with this backtrace handle. */
  remember(lo: number, hi: number, trace: number): void {
    if (!this.enabled || (lo | hi) === 0 || this.known >= KNOWN_CAPACITY >>> 1) return;
    const u32 = new Uint32Array(this.memory.buffer);
    let h = Math.imul(lo ^ hi, HASH);
    h = (h ^ (h >>> 15)) & (KNOWN_CAPACITY - 1);
    for (;;) {
      const at = (this.base + h * KNOWN_BYTES) >>> 2;
      const v = u32[at + 2]!;
      if (v === 0) {
        u32[at] = lo;
        u32[at + 1] = hi;
        u32[at + 2] = trace + 1;
        this.known++;
        return;
      }
      if (u32[at] === lo >>> 0 && u32[at + 1] === hi >>> 0) return;
      h = (h + 1) & (KNOWN_CAPACITY - 1);
    }
  }

  /**
   * The wrappers' flush hook: a safe point. Runs the cancel pass over the events logged since the
   * last one, and replays the window only when it is nearly full or held too long (see
   * LOG_CAPACITY); then starts the next batch.
   */
  checkpoint = (): void => {
    if (!this.enabled || this.flushing) return;
    const end = (this.g.pos.value as number) >>> 0;
    const used = this.batchUsed(end);
    this.cancelSegment(end);
    const room = this.logStart + LOG_CAPACITY * EVENT_BYTES - end;
    if (room < MAX_BATCH * EVENT_BYTES || this.now() - this.windowStart > HOLD_MS) this.replay(end);
    this.setBatch(used);
  };

  /** Replays every logged event into the sink, in order, and empties the log. */
  flush = (): void => {
    if (!this.enabled || this.flushing) return;
    const end = (this.g.pos.value as number) >>> 0;
    const used = this.batchUsed(end);
    this.cancelSegment(end);
    this.replay(end);
    this.setBatch(used);
  };

  /**
   * Events this batch used: those logged since it started, and two per pair the wrappers
   * cancelled in place (each lowered the batch's end by two events).
   */
  private batchUsed(end: number): number {
    return (end - this.segStart + this.batchEnd - ((this.g.end.value as number) >>> 0)) / EVENT_BYTES;
  }

  /** Replays [logStart, end) but the cancelled events, empties the log, starts a new window. */
  private replay(end: number): void {
    this.flushing = true;
    try {
      const u32 = new Uint32Array(this.memory.buffer);
      const sink = this.sink;
      if (sink.batch) sink.batch(u32, this.logStart >>> 2, end >>> 2);
      else eachEvent(u32, this.logStart >>> 2, end >>> 2, (p, size, trace) => sink.alloc(p, size, trace), (p, trace) => sink.free(p, trace));
    } finally {
      this.g.pos.value = this.logStart;
      this.segStart = this.logStart;
      this.g.start.value = this.logStart;
      this.windowStart = this.now();
      this.nextGeneration();
      this.flushing = false;
    }
  }

  /** Starts the next batch at the current position, sized from the `used` events of the last one. */
  private setBatch(used: number): void {
    const pos = (this.g.pos.value as number) >>> 0;
    const limit = this.logStart + LOG_CAPACITY * EVENT_BYTES;
    this.batchEnd = Math.min(limit, pos + this.nextBatch(used) * EVENT_BYTES);
    this.g.end.value = this.batchEnd;
  }

  /** The size of the next batch, from the rate of the one just flushed (see FLUSH_EVERY_MS). */
  private nextBatch(events: number): number {
    const t = this.now();
    const ms = t - this.lastFlush;
    this.lastFlush = t;
    const want = ms > 0 ? (events / ms) * FLUSH_EVERY_MS : MAX_BATCH;
    return want >= MAX_BATCH ? MAX_BATCH : want <= MIN_BATCH ? MIN_BATCH : Math.floor(want);
  }

  /**
   * The cancel pass over the events logged since the last pass, [segStart, end): each allocation
   * of the window freed in it, and that free, become CANCELLED (cancel-kernel.ts). The wrappers
   * then cancel in place only after `end` (their `start`), never an event the table indexes.
   */
  private cancelSegment(end: number): void {
    const first = this.segStart;
    this.segStart = end;
    this.g.start.value = end;
    if (end === first) return;
    if (this.skipPasses > 0) {
      this.skipPasses--;
      return;
    }
    const pairs = this.cancel
      ? this.cancel(this.logStart, first, end, this.pending, this.gen)
      : cancelPairsReference(new Uint32Array(this.memory.buffer), this.logStart >>> 2, first >>> 2, end >>> 2, this.pending >>> 2, this.gen);
    const events = (end - first) / EVENT_BYTES;
    if (events >= BARREN_MIN && (2 * pairs) << BARREN_SHIFT < events) {
      this.skipNext = Math.min(MAX_SKIP, 2 * this.skipNext + 1);
      this.skipPasses = this.skipNext;
    } else this.skipNext = 0;
  }

  /** A new window: the table's entries of the old one become stale (cleared only on wrap). */
  private nextGeneration(): void {
    this.gen = this.gen + 1;
    if (this.gen > 0xffff) {
      new Uint8Array(this.memory.buffer, this.pending, PENDING_BYTES).fill(0);
      this.gen = 1;
    }
  }
}
