/**
 * Why: the fast path of the allocation hooks. A call from wasm into JS for every malloc and every
 * free costs more than the malloc itself; the rewriter's wrappers (instrument/wrappers.ts) instead
 * append (ptr, size, handle) to an event log in linear memory when the host already holds the
 * backtrace of the allocation's calling context, and leave wasm only when the log is full or the
 * context is new. This file owns the tables in linear memory:
 *
 *   known-context table  KNOWN_CAPACITY entries of 16 bytes: context (i64), trace handle + 1 (i32,
 *                        0 = empty). Written only here (remember), read by the wrappers.
 *   recent allocations   RECENT_ENTRIES words at RECENT_OFFSET from the table's base: per hash of
 *                        an address, the log address of the last allocation event logged for
 *                        one (instrument/wrappers.ts). Zeroed here, then only the wrappers'.
 *   event log            LOG_CAPACITY events of 12 bytes: ptr, size (0xffffffff = free,
 *                        0xfffffffe = cancelled), handle. Written by the wrappers, drained only
 *                        here (checkpoint, flush).
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
 * - A block allocated and freed within one window never reaches the engine: the wrapper of the
 *   free finds the allocation's event through the recent-allocation table and cancels it, and
 *   logs nothing. No scan can run between the two (scans flush first), so the engine could not
 *   have seen it anyway, and a malloc/free churn costs the engine nothing. A free whose
 *   allocation is not in the window (an older block, a double free, or one whose slot a newer
 *   allocation took) is logged and replayed, warnings included. The wrappers trust a slot only
 *   for an event in [start, pos) that is an allocation of the same address and not cancelled:
 *   then it is the newest allocation of that address in the window and no free of it was logged
 *   since (slots only move forward within a window), whatever the slot held before; so the table
 *   is never cleared between windows. `start` is the log's first event, or NO_WINDOW for a
 *   whole window that does without the table (see BARREN_MIN).
 * - The window is replayed when the next batch might not fit in it, or when its events are
 *   HOLD_MS old (checkpoint), or when anything needs the engine current (flush). Its events get
 *   their creation time then.
 */

import { eachEvent } from '../../engine/batch.js';
import { NO_WINDOW, RECENT_ENTRIES, RECENT_OFFSET } from '../instrument/wrappers.js';
import { hostNow } from './host-clock.js';

/** Entries in the known-context table (a power of two); filled to at most half. */
export const KNOWN_CAPACITY = 1 << 14;
/**
 * Events the log can hold: its window. Large, so that blocks a program builds and tears down
 * within thousands of allocations (a std::map, a parse tree, an interpreter's young objects,
 * random-lifetime churn) are allocated and freed within one window, where the wrappers cancel
 * the pair and the engine never sees either. A cancelled allocation keeps its place (a free
 * cancelled with it takes none), so a window of 65536 events spans 65536 allocations of a churn
 * (random churn over 1024 slots: 1 block in 54 reaches the engine; 1 in 29 at 32768). The window
 * is replayed when nearly full (MIN_BATCH events of room), or when its events are HOLD_MS old
 * (so creation times stay close). 65536 events take 768 KiB.
 */
export const LOG_CAPACITY = 65536;
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
 * A window whose wrappers cancelled fewer than 1 event in 2^BARREN_SHIFT of at least BARREN_MIN
 * is barren: the next windows (1, then 3, 7, ... up to MAX_SKIP, until one pays again) run
 * without the recent-allocation table (`start` = NO_WINDOW). A program whose blocks all outlive
 * the window (a parse tree built, printed, then freed: json, 0 pairs in 5.7M events) pays the
 * table's store per allocation and load per free, cache misses on a large heap, for nothing.
 * Switched between windows only: the table's invariant (see the header) holds within each.
 */
const BARREN_MIN = 1024;
const BARREN_SHIFT = 6;
const MAX_SKIP = 63;
const KNOWN_BYTES = 16;
const EVENT_BYTES = 12;
const HASH = 0x9e3779b1;
/** The recent-allocation table's bytes; it lies right after the known-context table. */
const RECENT_BYTES = RECENT_ENTRIES * 4;
if (RECENT_OFFSET !== KNOWN_CAPACITY * KNOWN_BYTES) throw new Error('event log: the wrappers place the recent-allocation table elsewhere');

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
  /** When the previous flush ended (ms), to size the next batch. */
  private lastFlush = 0;
  /** The end this batch started with (the wrappers lower g.end as they cancel pairs). */
  private batchEnd = 0;
  /** Where this batch's events begin. */
  private batchStart = 0;
  /** When the window's first event could have been logged (its last replay), in ms. */
  private windowStart = 0;
  /** A view of the memory, renewed when it grows (replay reads the window through it). */
  private words: Uint32Array;
  /** Events of the windows not judged yet (see BARREN_MIN), and how many of them the wrappers did not keep. */
  private windowUsed = 0;
  private windowDropped = 0;
  /** Windows (of BARREN_MIN events or more) still to run without the table, and the last such count. */
  private skipLeft = 0;
  private skipNext = 0;

  constructor(private readonly memory: WebAssembly.Memory, private readonly g: EventLogGlobals, private readonly sink: EventSink,
    /** The clock (ms) that sizes batches and ages windows; tests pass their own. */
    private readonly now: () => number = hostNow) {
    this.words = new Uint32Array(memory.buffer);
  }

  /**
   * Takes the tables' memory from the program's malloc and switches the fast path on; false (and
   * off) when that fails. Call it from a hook, never while the allocator itself runs.
   */
  enable(rawMalloc: (size: number) => number): boolean {
    if (this.enabled) return true;
    const bytes = KNOWN_CAPACITY * KNOWN_BYTES + RECENT_BYTES + LOG_CAPACITY * EVENT_BYTES;
    const grownFrom = this.memory.buffer.byteLength;
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
    // Both tables start empty: a recent-allocation slot names no event (0 is below the log).
    // Pages the allocator grew the memory by for this block are zero already: written, each
    // would fault in now (~13 us a page on the benchmark VM) and stay resident, used or not.
    const tables = KNOWN_CAPACITY * KNOWN_BYTES + RECENT_BYTES;
    const dirty = Math.min(tables, Math.max(0, grownFrom - this.base));
    if (dirty > 0) new Uint8Array(this.memory.buffer, this.base, dirty).fill(0);
    this.logStart = this.base + KNOWN_CAPACITY * KNOWN_BYTES + RECENT_BYTES;
    this.g.knownMask.value = KNOWN_CAPACITY - 1;
    this.g.pos.value = this.logStart;
    this.g.start.value = this.logStart;
    this.batchEnd = this.logStart + MIN_BATCH * EVENT_BYTES;
    this.g.end.value = this.batchEnd;
    this.batchStart = this.logStart;
    this.lastFlush = this.now();
    this.windowStart = this.lastFlush;
    this.g.knownBase.value = this.base;
    this.enabled = true;
    return true;
  }

  /** Lets the wrappers log events of context (lo, hi) from now on, with this backtrace handle. */
  remember(lo: number, hi: number, trace: number): void {
    if (!this.enabled || (lo | hi) === 0 || this.known >= KNOWN_CAPACITY >>> 1) return;
    const u32 = this.view();
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
   * The wrappers' flush hook: a safe point. Replays the window only when it is nearly full or
   * held too long (see LOG_CAPACITY); then starts the next batch.
   */
  checkpoint = (): void => {
    if (!this.enabled || this.flushing) return;
    const end = (this.g.pos.value as number) >>> 0;
    const used = this.batchUsed(end);
    this.count(used);
    const room = this.logStart + LOG_CAPACITY * EVENT_BYTES - end;
    if (room < MIN_BATCH * EVENT_BYTES || this.now() - this.windowStart > HOLD_MS) this.replay(end);
    this.setBatch(used);
  };

  /** Replays every logged event into the sink, in order, and empties the log. */
  flush = (): void => {
    if (!this.enabled || this.flushing) return;
    const end = (this.g.pos.value as number) >>> 0;
    const used = this.batchUsed(end);
    this.count(used);
    this.replay(end);
    this.setBatch(used);
  };

  /** Adds a batch of `used` events to the window's counts (the wrappers lowered the end by those they did not keep). */
  private count(used: number): void {
    this.windowUsed += used;
    this.windowDropped += (this.batchEnd - ((this.g.end.value as number) >>> 0)) / EVENT_BYTES;
  }

  /**
   * After a replay: whether the next window uses the recent-allocation table (see BARREN_MIN).
   * Windows of fewer than BARREN_MIN events are judged together with the next ones.
   */
  private nextWindow(): void {
    if (this.windowUsed < BARREN_MIN) return;
    if (this.skipLeft > 0) this.skipLeft--;
    else if (this.windowDropped << BARREN_SHIFT < this.windowUsed) {
      this.skipNext = Math.min(MAX_SKIP, 2 * this.skipNext + 1);
      this.skipLeft = this.skipNext;
    } else this.skipNext = 0;
    this.windowUsed = 0;
    this.windowDropped = 0;
    this.g.start.value = this.skipLeft > 0 ? NO_WINDOW : this.logStart;
  }

  /**
   * Events this batch used: those logged since it started, and those the wrappers did not keep
   * (a pair cancelled lowered the batch's end by the events that are not in the log).
   */
  private batchUsed(end: number): number {
    return (end - this.batchStart + this.batchEnd - ((this.g.end.value as number) >>> 0)) / EVENT_BYTES;
  }

  /** The memory as words, renewed after the memory grew (no allocation otherwise). */
  private view(): Uint32Array {
    if (this.words.buffer !== this.memory.buffer) this.words = new Uint32Array(this.memory.buffer);
    return this.words;
  }

  /** Replays [logStart, end) but the cancelled events, empties the log, starts a new window. */
  private replay(end: number): void {
    this.flushing = true;
    try {
      const u32 = this.view();
      const sink = this.sink;
      // Nothing logged: no sink call.
      if (end === this.logStart) return;
      if (sink.batch) sink.batch(u32, this.logStart >>> 2, end >>> 2);
      else eachEvent(u32, this.logStart >>> 2, end >>> 2, (p, size, trace) => sink.alloc(p, size, trace), (p, trace) => sink.free(p, trace));
    } finally {
      this.g.pos.value = this.logStart;
      this.windowStart = this.now();
      this.nextWindow();
      this.flushing = false;
    }
  }

  /** Starts the next batch at the current position, sized from the `used` events of the last one. */
  private setBatch(used: number): void {
    const pos = (this.g.pos.value as number) >>> 0;
    const limit = this.logStart + LOG_CAPACITY * EVENT_BYTES;
    this.batchStart = pos;
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
}
