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
 *                        Written by the wrappers, drained only here (flush).
 *   pending table        the cancel pass's hash (cancel-kernel.ts), PENDING_BYTES; only flush's.
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
 * - A block allocated and freed within one batch never reaches the engine (flush cancels the
 *   pair): no scan can run between the two (scans flush first), so the engine could not have
 *   seen it anyway, and a malloc/free churn costs the engine nothing. A free whose allocation is
 *   not in the batch (an older block, or a double free) is replayed, warnings included. The
 *   pass runs in WebAssembly over the program's memory (cancel-kernel.ts: in JavaScript it was
 *   the largest cost of random-lifetime churn).
 */

import { CANCELLED, FREE, PENDING_BYTES, cancelKernel, cancelPairsReference, type CancelFn } from './cancel-kernel.js';

/** Entries in the known-context table (a power of two); filled to at most half. */
export const KNOWN_CAPACITY = 1 << 14;
/**
 * Events the log can hold. Large, so that the blocks a program builds and tears down within a few
 * thousand allocations (a std::map, a parse tree) are allocated and freed within one batch, where
 * flush cancels the pair and the engine never sees either (containers workload: ~0.55 -> ~0.46 s).
 * 16384 events take 192 KiB.
 */
export const LOG_CAPACITY = 16384;
/**
 * A flush is also the host's chance to run a due automatic scan or answer the control file
 * (AutoScan.tick), so the log is not always filled: after each flush the next batch is sized to
 * what the program logs in about FLUSH_EVERY_MS at its recent rate, between MIN_BATCH events and
 * LOG_CAPACITY. An allocation-heavy loop gets full batches; a program that allocates now and then
 * reaches a safe point every MIN_BATCH events, as before the log grew.
 */
export const MIN_BATCH = 256;
const FLUSH_EVERY_MS = 5;
const KNOWN_BYTES = 16;
const EVENT_BYTES = 12;
const HASH = 0x9e3779b1;

const now: () => number = typeof performance !== 'undefined' ? () => performance.now() : () => Date.now();

export interface EventSink {
  /** An allocation of [ptr, ptr+size) with its backtrace handle. */
  alloc(ptr: number, size: number, trace: number): void;
  /** A free of ptr by the code whose backtrace is trace. */
  free(ptr: number, trace: number): void;
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

  constructor(private readonly memory: WebAssembly.Memory, private readonly g: EventLogGlobals, private readonly sink: EventSink) {
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
    const base = (block + 15) & ~15;
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
    this.lastFlush = now();
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

  /** Replays the logged events into the sink, in order, and empties the log. */
  flush = (): void => {
    if (!this.enabled || this.flushing) return;
    const end = (this.g.pos.value as number) >>> 0;
    // Events this batch used: those in the log, and two per pair the wrappers cancelled in place
    // (each lowered the batch's end by two events).
    const used = (end - this.logStart + this.batchEnd - ((this.g.end.value as number) >>> 0)) / EVENT_BYTES;
    if (end === this.logStart) {
      // Only cancelled pairs: nothing to replay, but a new batch (the caller's safe point).
      this.setBatch(used);
      return;
    }
    this.flushing = true;
    try {
      const u32 = new Uint32Array(this.memory.buffer);
      const first = this.logStart >>> 2, stop = end >>> 2;
      this.cancelPairs(u32, this.logStart, end);
      const sink = this.sink;
      for (let at = first; at < stop; at += 3) {
        const size = u32[at + 1]!;
        if (size === CANCELLED) continue;
        if (size === FREE) sink.free(u32[at]!, u32[at + 2]!);
        else sink.alloc(u32[at]!, size, u32[at + 2]!);
      }
    } finally {
      this.g.pos.value = this.logStart;
      this.setBatch(used);
      this.flushing = false;
    }
  };

  /** Starts the next batch, sized from the `used` events of the one just flushed. */
  private setBatch(used: number): void {
    this.batchEnd = this.logStart + this.nextBatch(used) * EVENT_BYTES;
    this.g.end.value = this.batchEnd;
  }

  /** The size of the next batch, from the rate of the one just flushed (see FLUSH_EVERY_MS). */
  private nextBatch(events: number): number {
    const t = now();
    const ms = t - this.lastFlush;
    this.lastFlush = t;
    const want = ms > 0 ? (events / ms) * FLUSH_EVERY_MS : LOG_CAPACITY;
    return want >= LOG_CAPACITY ? LOG_CAPACITY : want <= MIN_BATCH ? MIN_BATCH : Math.floor(want);
  }

  /** First pass: marks each allocation freed later in the same batch, and its free, CANCELLED. */
  private cancelPairs(u32: Uint32Array, first: number, stop: number): void {
    // A batch of allocations only (a data structure being built) has nothing to cancel.
    let frees = false;
    for (let at = (first >>> 2) + 1; at < stop >>> 2; at += 3) if (u32[at] === FREE) { frees = true; break; }
    if (!frees) return;
    this.gen = this.gen + 1;
    if (this.gen > 0xffff) {
      new Uint8Array(this.memory.buffer, this.pending, PENDING_BYTES).fill(0);
      this.gen = 1;
    }
    if (this.cancel) this.cancel(first, stop, this.pending, this.gen);
    else cancelPairsReference(u32, first >>> 2, stop >>> 2, this.pending >>> 2, this.gen);
  }
}
