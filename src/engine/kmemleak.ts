/**
 * The detector: kmemleak's object tracking, scanning, reporting and control file over a linear
 * memory given as a byte buffer. See index.ts for the public contract; this file wires the parts.
 *
 * Invariants:
 * - State is EARLY (no memory yet: hook calls go to the early pool), ACTIVE, or OFF (terminal:
 *   hooks are no-ops, metadata is freed, timers are stopped).
 * - No hook throws: each body is guarded; an internal error logs one line and turns the detector
 *   off, as kmemleak stops itself on an internal failure.
 * - Every live object is in the exact-start index (exact-index.ts: a run of objects allocated
 *   at rising addresses, a hash, and the objects created since its last sync). Everything but
 *   alloc and free syncs it first. A scan needs no sync (the snapshot is built from the table and
 *   finds overlaps itself). An alloc at the start of a live object is warned about when the two
 *   meet in the index (a sync, a free of that address) or at the next scan.
 * - At most one scan runs at a time (`run`); while it runs the table parks freed slots (see
 *   ObjectTable).
 * - Objects are reported once (F_REPORTED); read() lists reported objects that are still white
 *   after the last complete scan, in allocation order.
 */

import type { Frame, TraceDescriber } from '../symbolize/frame.js';
import { formatLeak, formatObjectInfo, formatFrame, hex8 } from '../report/text.js';
import { hexBytes } from '../report/hexdump.js';
import { AddressSnapshot } from './address-index.js';
import { Clock, defaultNow } from './clock.js';
import { Contexts } from './contexts.js';
import { controlWrite, type ControlResult, type ControlTarget } from './control.js';
import {
  EarlyPool,
  OP_ALLOC,
  OP_FREE,
  OP_FREE_PART,
  OP_IGNORE,
  OP_NOT_LEAK,
  OP_NO_SCAN,
  OP_SCAN_AREA,
  OP_TRANSIENT_LEAK,
  OP_UPDATE_TRACE,
} from './early-pool.js';
import type { LeakRecord } from './leak-record.js';
import {
  COUNT_NONE,
  F_ALLOCATED,
  F_NO_SCAN,
  F_PUBLIC,
  F_REPORTED,
  ObjectTable,
} from './object-table.js';
import { buildLeakGraph, emptyLeakGraph, type LeakGraph } from './leak-graph.js';
import { KERNEL_MIN_OBJECTS, resolveOptions, type EngineOptions, type ResolvedOptions } from './options.js';
import type { HeapMemory } from './kernel/flood-kernel.js';
import { ExactIndex } from './exact-index.js';
import { EVENT_CANCELLED_I32, EVENT_FREE_I32, eachEvent } from './batch.js';
import { ScanRun } from './scanner.js';
import { ScanScratch } from './scan-scratch.js';
import { ScanTimer } from './scan-timer.js';
import { StackDepot } from './stack-depot.js';

/** read() returns at most this many characters (then a line saying how many objects are left out). */
const READ_LIMIT = 256 << 20;

const EARLY = 0;
const ACTIVE = 1;
const OFF = 2;

/** (start, end) byte ranges, end exclusive. */
export type RootProvider = (add: (start: number, end: number) => void) => void;

/** Engine memory figures (for benchmarks and `dump` of the engine itself). */
export interface EngineStats {
  liveObjects: number;
  slotCapacity: number;
  tableBytes: number;
  hashBytes: number;
  snapshotBytes: number;
  depotTraces: number;
  depotBytes: number;
  /** Scans whose floods ran in the WebAssembly kernel (see kernel/flood-kernel.ts). */
  kernelScans: number;
}

export class Kmemleak {
  readonly depot = new StackDepot();
  /** Turns trace handles into frames; may be set after construction. */
  describer: TraceDescriber | undefined;
  /** kmemleak's stack=on|off; the root provider reads it to decide whether to add stacks. */
  stackEnabled: boolean;
  /**
   * Take a pointer at every byte offset, not only at aligned words (LeakSanitizer's
   * use_unaligned): scans then flood in JavaScript, byte by byte.
   */
  unaligned = false;

  private state = EARLY;
  private readonly o: ResolvedOptions;
  private readonly table = new ObjectTable();
  private readonly index = new ExactIndex(this.table, {
    duplicate: (_dropped, start, size, kept) => this.warnOverlap(start, size, kept),
    full: () => this.disable('kmemleak: Cannot allocate a kmemleak_object structure'),
  });
  private readonly snap = new AddressSnapshot();
  private readonly contexts = new Contexts();
  private readonly clock: Clock;
  private pool: EarlyPool | null;
  private getBuffer: (() => ArrayBufferLike) | null = null;
  private heap: HeapMemory | null = null;
  private kernelScans = 0;
  private rootProvider: RootProvider | null = null;
  /**
   * Called before a scan takes its snapshot and after it ends (a threaded program's collector
   * stops its threads and replays their events there: src/api/threads/collector.ts).
   */
  scanBracket: { begin(): void; end(): void } | null = null;
  private readonly roots: number[] = [];
  private run: ScanRun | null = null;
  /** applyEvents' signed view of its last batch's memory. */
  private eventsSigned: Int32Array<ArrayBufferLike> = new Int32Array(0);
  /** Set while exitScan(false) runs: endRun does not announce its new leaks. */
  private quiet = false;
  /** Objects flagged reported by all scans so far (flaggedSlots skips its pass while 0). */
  private reportedSoFar = 0;
  private runPromise: Promise<number> | null = null;
  private readonly timer: ScanTimer;
  private minAgeMs: number;

  constructor(options: EngineOptions = {}) {
    this.o = resolveOptions(options, options.now ?? defaultNow());   // not read when given: performance loads node:perf_hooks
    this.describer = options.describer;
    this.stackEnabled = this.o.stack;
    this.minAgeMs = this.o.minAgeMs;
    this.clock = new Clock(this.o.now, this.o.clockEvery);
    this.pool = new EarlyPool(this.o.earlyPoolSize);
    this.timer = new ScanTimer(
      this.o.scheduler,
      () => this.scanAsync(),
      this.o.scanPeriodSecs * 1000,
      this.o.firstScanSecs * 1000,
      this.o.canScan,
      this.o.deferMs,
    );
  }

  /** False once the detector is off (by `off`, an early-pool overflow or an internal error). */
  get enabled(): boolean {
    return this.state !== OFF;
  }

  /** True once memory is attached and the detector is on. */
  get active(): boolean {
    return this.state === ACTIVE;
  }

  /** Whether a scan is in progress (scanAsync between chunks). */
  get scanning(): boolean {
    return this.run !== null;
  }

  /** Whether the automatic scan timer is running. */
  get autoScan(): boolean {
    return this.timer.running;
  }

  /** Makes (comm, pid) the context of the following allocations; also samples the clock. */
  setContext(comm: string, pid: number): void {
    if (this.state === OFF) return;
    try {
      this.contexts.set(String(comm), pid | 0);
      this.clock.refresh();
    } catch (e) {
      this.internalError(e);
    }
  }

  /** Samples the clock now (the adapter may call it on host calls to tighten creation times). */
  tick(): void {
    if (this.state !== OFF) this.clock.refresh();
  }

  /**
   * Memory becomes readable: replays the early pool, starts automatic scanning. `heap`, when the
   * memory is a WebAssembly.Memory, lets complete scans flood in the WebAssembly kernel (scratch
   * borrowed from the heap, grown only if `mayGrow`; see kernel/flood-kernel.ts).
   */
  attachMemory(getBuffer: () => ArrayBufferLike, heap?: HeapMemory): void {
    if (this.state === OFF) return;
    this.getBuffer = getBuffer;
    this.heap = heap && heap.memory instanceof WebAssembly.Memory ? heap : null;
    if (this.state === ACTIVE) return;
    this.state = ACTIVE;
    const pool = this.pool;
    this.pool = null;
    try {
      pool?.replay((op, a, b, c, d, ctx, time) => this.replayOne(op, a, b, c, d, ctx, time));
    } catch (e) {
      this.internalError(e);
      return;
    }
    if (this.o.scanPeriodSecs > 0 && this.state === ACTIVE) this.timer.start();
  }

  setRootProvider(provider: RootProvider): void {
    this.rootProvider = provider;
  }

  // ---- hooks (kmemleak_alloc & co.) -------------------------------------------------------

  alloc(ptr: number, size: number, minCount: number, trace: number): void {
    if (this.state !== ACTIVE) {
      if (this.state === EARLY) this.early(OP_ALLOC, ptr, size, minCount, trace);
      return;
    }
    try {
      this.doAlloc(ptr >>> 0, size >>> 0, minCount | 0, trace >>> 0, this.clock.stamp(), this.contexts.current);
    } catch (e) {
      this.internalError(e);
    }
  }

  /**
   * A batch of allocations and frees (batch.ts's layout), each as alloc(ptr, size, minCount,
   * trace) or free(ptr, trace) would be, in order; the allocations share one creation time.
   */
  applyEvents(words: Uint32Array, from: number, to: number, minCount: number): void {
    if (this.state !== ACTIVE) {
      this.applyEventsInactive(words, from, to, minCount);
      return;
    }
    // No closure in this function: `this` stays a register, not a context slot (each access in
    // unoptimized code, which runs the first thousands of events, would be a context load).
    const signed = this.signedWords(words);
    try {
      // The loop is here, not in batch.ts: doAlloc and doFree called directly are inlined.
      const jiffies = this.clock.stamp();
      const ctx = this.contexts.current;
      const min = minCount | 0;
      for (let at = from; at < to; at += 3) {
        // Read signed: the markers are -2 and -1, small integers. Read unsigned they are doubles,
        // and V8's unoptimised code (the first thousands of events, until the loop is compiled)
        // allocates a heap number for each (random churn: 3.7M cancelled events, 30 ms of it).
        const size = signed[at + 1];
        // Most of a window can be cancelled pairs (churn: 15 in 16): skipped with one compare.
        if (size === EVENT_CANCELLED_I32) continue;
        if (size === EVENT_FREE_I32) this.doFree(words[at], words[at + 2]);
        else this.doAlloc(words[at], size >>> 0, min, words[at + 2], jiffies, ctx);
        if (this.state !== ACTIVE) break;
      }
    } catch (e) {
      this.internalError(e);
    }
  }

  /** `words` read as signed (an Int32Array over the same memory, made again when that changes). */
  private signedWords(words: Uint32Array): Int32Array<ArrayBufferLike> {
    const s = this.eventsSigned;
    if (s.buffer !== words.buffer || s.byteOffset !== words.byteOffset || s.length !== words.length) {
      this.eventsSigned = new Int32Array(words.buffer, words.byteOffset, words.length);
    }
    return this.eventsSigned;
  }

  private applyEventsInactive(words: Uint32Array, from: number, to: number, minCount: number): void {
    eachEvent(words, from, to, (p, s, tr) => this.alloc(p, s, minCount, tr), (p, tr) => this.free(p, tr));
  }

  free(ptr: number, trace = 0): void {
    if (this.state !== ACTIVE) {
      if (this.state === EARLY) this.early(OP_FREE, ptr, 0, 0, trace);
      return;
    }
    try {
      this.doFree(ptr >>> 0, trace >>> 0);
    } catch (e) {
      this.internalError(e);
    }
  }

  freePart(ptr: number, size: number): void {
    if (this.state !== ACTIVE) {
      if (this.state === EARLY) this.early(OP_FREE_PART, ptr, size, 0, 0);
      return;
    }
    this.guard(() => this.doFreePart(ptr >>> 0, size >>> 0));
  }

  /** kmemleak_not_leak: grey for good (min_count 0). */
  notLeak(ptr: number): void {
    this.annotate(OP_NOT_LEAK, ptr, 0, 0, 0);
  }

  /** kmemleak_transient_leak: the checksum is reset, so the next scan greys it once. */
  transientLeak(ptr: number): void {
    this.annotate(OP_TRANSIENT_LEAK, ptr, 0, 0, 0);
  }

  /** kmemleak_ignore: black (min_count -1): never scanned, never reported. */
  ignore(ptr: number): void {
    this.annotate(OP_IGNORE, ptr, 0, 0, 0);
  }

  /** kmemleak_no_scan: not scanned, still reported when unreferenced. */
  noScan(ptr: number): void {
    this.annotate(OP_NO_SCAN, ptr, 0, 0, 0);
  }

  /** kmemleak_scan_area: restricts scanning of the object to its areas (several allowed). */
  scanArea(ptr: number, offset: number, length: number): void {
    this.annotate(OP_SCAN_AREA, ptr, offset, length, 0);
  }

  /** kmemleak_update_trace: the object's backtrace becomes `trace`. */
  updateTrace(ptr: number, trace: number): void {
    this.annotate(OP_UPDATE_TRACE, ptr, 0, 0, trace);
  }

  // ---- scanning ---------------------------------------------------------------------------

  /** One complete scan now; returns the number of new suspected leaks. */
  scan(): number {
    if (this.state !== ACTIVE) return 0;
    try {
      this.finishRunning();
      return this.scanSync(this.minAgeMs, true);
    } catch (e) {
      this.internalError(e);
      return 0;
    }
  }

  /**
   * The final scan at program exit: minimum age 0 and no checksum greying (there is no later scan
   * for a changed object to wait for), so everything unreferenced is reported. Stops automatic
   * scanning. `announce` false: no "N new suspected memory leaks" line, for a caller that reports
   * the leaks after a triage the engine knows nothing of (suppressions) and counts them itself.
   */
  exitScan(announce = true): number {
    if (this.state !== ACTIVE) return 0;
    try {
      this.timer.stop();
      this.finishRunning();
      this.quiet = !announce;
      // Nothing needs the exact-start index during the scan: its memory becomes the scan's
      // scratch (the index is rebuilt from the table if it is needed again).
      const n = this.scanSync(0, false, new ScanScratch(this.index.lend()));
      // Nothing reads the snapshot after the final scan (the leak graph indexes the leaks alone):
      // its arrays go now, before the reports are written (a later scan builds it again).
      this.snap.clear();
      return n;
    } catch (e) {
      this.internalError(e);
      return 0;
    } finally {
      this.quiet = false;
    }
  }

  /**
   * Table slots of the objects reported so far (flagged by an earlier scan), whether or not they
   * are still unreferenced; empty when no scan has reported anything. With a LeakGraph's slots,
   * tells the objects a scan newly reported from those reported before it.
   */
  flaggedSlots(): Uint32Array {
    if (this.state !== ACTIVE || this.reportedSoFar === 0) return new Uint32Array(0);
    const { flags, hi } = this.table;
    const want = F_ALLOCATED | F_REPORTED;
    let n = 0;
    for (let s = 0; s < hi; s++) if ((flags[s]! & want) === want) n++;
    const out = new Uint32Array(n);
    n = 0;
    for (let s = 0; s < hi; s++) if ((flags[s]! & want) === want) out[n++] = s;
    return out;
  }

  /**
   * A scan in chunks, yielding to the event loop between them. Objects created meanwhile are not
   * coloured by it; freed ones are skipped. Joins the scan in progress if there is one. Resolves
   * to the number of new suspected leaks (0 if it was stopped).
   */
  scanAsync(): Promise<number> {
    if (this.state !== ACTIVE) return Promise.resolve(0);
    if (this.runPromise) return this.runPromise;
    let run: ScanRun;
    try {
      this.scanBracket?.begin();
      run = this.beginRun(this.minAgeMs, true);
    } catch (e) {
      this.internalError(e);
      return Promise.resolve(0);
    } finally {
      this.scanBracket?.end();   // chunks run between event-loop turns: threads are not held that long
    }
    const p = (async () => {
      try {
        for (;;) {
          if (run.done) break;
          if (run.step(this.o.scanChunkWords)) {
            this.endRun(run);
            break;
          }
          await this.o.scheduler.yield();
        }
        return run.aborted ? 0 : run.newLeaks;
      } catch (e) {
        this.internalError(e);
        return 0;
      }
    })();
    // A scan small enough to finish in its first chunk has already ended (endRun ran).
    if (this.run === run) this.runPromise = p;
    return p;
  }

  /** Stops the scan in progress (if any) and automatic scanning; tracking continues. */
  stop(): void {
    this.timer.stop();
    this.abortRunning();
  }

  private finishRunning(): void {
    const run = this.run;
    if (!run) return;
    run.step(Infinity);
    this.endRun(run);
  }

  private abortRunning(): void {
    const run = this.run;
    if (!run) return;
    run.abort();
    this.run = null;
    this.runPromise = null;
    this.table.setDeferring(false);
  }

  private scanSync(minAge: number, greyChanged: boolean, scratch?: ScanScratch): number {
    this.scanBracket?.begin();
    try {
      const run = this.beginRun(minAge, greyChanged, scratch);
      run.step(Infinity);
      this.endRun(run);
      return run.newLeaks;
    } finally {
      this.scanBracket?.end();
    }
  }

  private beginRun(minAge: number, greyChanged: boolean, scratch?: ScanScratch): ScanRun {
    const t = this.table;
    const start = this.clock.refresh();
    t.setDeferring(true);
    this.snap.build(t, (kept, dropped) => this.dropOverlap(kept, dropped), scratch);
    const getBuffer = this.getBuffer;
    const policy = this.o.scanKernel;
    const heap = !this.unaligned && (policy === 'on' || (policy === 'auto' && this.snap.n >= KERNEL_MIN_OBJECTS)) ? this.heap : null;
    const run = new ScanRun(t, this.snap, () => (getBuffer ? getBuffer() : null), start, minAge, greyChanged, heap, this.o.scanQueueMin, scratch);
    run.unaligned = this.unaligned;
    const roots = this.roots;
    roots.length = 0;
    if (this.rootProvider) {
      try {
        this.rootProvider((s, e) => {
          const a = Math.max(0, Math.floor(Number(s)));
          const b = Math.min(0x100000000, Math.floor(Number(e)));
          if (b > a) roots.push(a, b);
        });
      } catch (e) {
        this.o.log(`kmemleak: root provider failed: ${errorText(e)}`);
      }
    }
    run.begin(roots, roots.length >>> 1);
    this.run = run;
    return run;
  }

  private endRun(run: ScanRun): void {
    if (this.run !== run) return;
    if (run.usedKernel) this.kernelScans++;
    this.run = null;
    this.runPromise = null;
    this.table.setDeferring(false);
    this.reportedSoFar += run.newLeaks;
    if (run.newLeaks > 0 && !this.quiet) {
      this.o.log(`kmemleak: ${run.newLeaks} new suspected memory leaks (see ${this.o.reportLocation})`);
    }
  }

  // ---- reports ------------------------------------------------------------------------------

  /**
   * The text report: reported, still unreferenced objects in allocation order. One string, so it
   * stops at READ_LIMIT characters with a line saying how many objects were left out (a JS
   * string holds at most ~512M characters); eachLeak gives every object, for files.
   */
  read(): string {
    if (this.state !== ACTIVE) return '';
    try {
      const parts: string[] = [];
      let length = 0;
      this.forEachLeak((_rec, text, left) => {
        if (length + text.length > READ_LIMIT) {
          parts.push(`kmemleak: ${left} more unreferenced objects not shown (the report exceeds ${READ_LIMIT >>> 20}M characters)\n`);
          return false;
        }
        parts.push(text);
        length += text.length;
        return true;
      });
      return parts.join('');
    } catch (e) {
      this.internalError(e);
      return '';
    }
  }

  /**
   * Calls visit with each reported, still unreferenced object, in allocation order (the objects
   * read() lists, with no limit), and its text; returns how many. visit may throw (a full disk):
   * that reaches the caller, the detector stays as it was.
   */
  eachLeak(visit: (rec: LeakRecord, text: string) => void): number {
    if (this.state !== ACTIVE) return 0;
    return this.forEachLeak((rec, text) => {
      visit(rec, text);
      return true;
    });
  }

  /**
   * The reported objects with their report text, until visit returns false (`left`: objects from
   * this one on); returns how many there are.
   */
  private forEachLeak(visit: (rec: LeakRecord, text: string, left: number) => boolean): number {
    const slots = this.reportedSlots();
    const traces = new Map<number, Frame[] | undefined>();
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i];
      const bytes = this.bytesOf(this.table.start[s], Math.min(this.table.size[s], 32));
      const rec = this.record(s, traces, undefined, bytes);
      if (!visit(rec, formatLeak(rec, rec.backtrace ? undefined : this.depot.frames(rec.trace), bytes), slots.length - i)) break;
    }
    return slots.length;
  }

  /** The same objects as read(), as records. */
  leaks(): LeakRecord[] {
    if (this.state !== ACTIVE) return [];
    try {
      const traces = new Map<number, Frame[] | undefined>();
      return this.reportedSlots().map((s) => this.record(s, traces));
    } catch (e) {
      this.internalError(e);
      return [];
    }
  }

  /**
   * The objects leaks() lists, with their own pointer graph, kinds and retained bytes
   * (leak-graph.ts), read from the heap now; index i is leaks()[i].
   */
  leakGraph(): LeakGraph {
    if (this.state !== ACTIVE) return emptyLeakGraph();
    return buildLeakGraph(this.table, this.getBuffer ? this.getBuffer() : null);
  }

  /**
   * The record of the object in table slot `slot` (a LeakGraph's slots[i]), with `backtrace` as
   * given: the caller describes each trace once, not once per object.
   */
  leakRecord(slot: number, backtrace?: Frame[]): LeakRecord {
    return this.record(slot, null, backtrace);
  }

  private reportedSlots(): number[] {
    const t = this.table;
    const flags = t.flags;
    const count = t.count;
    const minCount = t.minCount;
    return t.inCreationOrder((s) => (flags[s] & F_REPORTED) !== 0 && count[s] < minCount[s]);
  }

  /**
   * The report record of slot s. `traces`: the backtraces described so far in this report, by
   * depot handle: each trace is described once (records of one trace share its frozen frames).
   */
  private record(
    s: number,
    /** null: no describing, `given` is the backtrace (or none). */
    traces: Map<number, Frame[] | undefined> | null,
    given?: Frame[],
    bytes = this.bytesOf(this.table.start[s], Math.min(this.table.size[s], 32)),
  ): LeakRecord {
    const t = this.table;
    const ctx = t.ctxOf(s);
    const rec: LeakRecord = {
      address: t.start[s],
      size: t.size[s],
      comm: this.contexts.comm[ctx] ?? '',
      pid: this.contexts.pid[ctx] ?? 0,
      jiffies: t.jiffiesOf(s),
      crc: hex8(t.checksumOf(s)),
      hex: hexBytes(bytes),
      trace: t.trace[s],
    };
    const trace = t.trace[s];
    let frames = traces ? traces.get(trace) : given;
    if (traces && frames === undefined && !traces.has(trace)) {
      frames = this.describe(trace);
      if (frames) Object.freeze(frames);
      traces.set(trace, frames);
    }
    if (frames) rec.backtrace = frames;
    return rec;
  }

  private bytesOf(start: number, len: number): Uint8Array {
    const buf = this.getBuffer ? this.getBuffer() : null;
    if (!buf) return new Uint8Array(0);
    const end = Math.min(buf.byteLength, start + len);
    return end > start ? new Uint8Array(buf, start, end - start) : new Uint8Array(0);
  }

  private describe(trace: number): Frame[] | undefined {
    if (!this.describer) return undefined;
    try {
      return this.describer.describe(trace);
    } catch (e) {
      this.o.log(`kmemleak: cannot describe backtrace ${trace}: ${errorText(e)}`);
      return undefined;
    }
  }

  /** kmemleak's dump_object_info for the object containing addr (interior addresses too). */
  dumpObject(addr: number): string | null {
    if (this.state !== ACTIVE) return null;
    const s = this.findContaining(addr >>> 0);
    if (s < 0) return null;
    const t = this.table;
    const ctx = t.ctxOf(s);
    const frames = this.describe(t.trace[s]);
    return formatObjectInfo({
      address: t.start[s],
      size: t.size[s],
      comm: this.contexts.comm[ctx] ?? '',
      pid: this.contexts.pid[ctx] ?? 0,
      jiffies: t.jiffiesOf(s),
      minCount: t.minCount[s],
      count: t.count[s] === COUNT_NONE ? -1 : t.count[s],
      flags: t.flags[s] & F_PUBLIC,
      checksum: t.checksumOf(s),
      backtrace: frames,
      raw: frames ? undefined : this.depot.frames(t.trace[s]),
    });
  }

  /** The live object containing addr (interior addresses too), or null. Rare operations only. */
  objectAt(addr: number): { start: number; size: number; trace: number } | null {
    if (this.state !== ACTIVE) return null;
    const s = this.findContaining(addr >>> 0);
    if (s < 0) return null;
    const t = this.table;
    return { start: t.start[s]!, size: t.size[s]!, trace: t.trace[s]! };
  }

  /** Live objects and their bytes, reported or not (a table walk: for rare callers). */
  liveTotals(): { blocks: number; bytes: number } {
    if (this.state !== ACTIVE) return { blocks: 0, bytes: 0 };
    const t = this.table;
    let blocks = 0;
    let bytes = 0;
    for (let s = 0; s < t.hi; s++) {
      if (!(t.flags[s]! & F_ALLOCATED)) continue;
      blocks++;
      bytes += t.size[s]!;
    }
    return { blocks, bytes };
  }

  // ---- control file -------------------------------------------------------------------------

  /** The control file's write: '' on success, else the error text (see control.ts). */
  write(cmd: string): string {
    return this.control(cmd).error ?? '';
  }

  /** write() with the details: errno and the command's output (dump=). */
  control(cmd: string): ControlResult {
    try {
      return controlWrite(this.controlTarget, String(cmd));
    } catch (e) {
      this.internalError(e);
      return { error: 'Invalid argument', errno: 'EINVAL', output: '' };
    }
  }

  private readonly controlTarget: ControlTarget = {
    isEnabled: () => this.state !== OFF,
    clearReported: () => this.clearReported(),
    disable: () => this.disable('kmemleak: Memory leak detector disabled'),
    setStack: (on) => {
      this.stackEnabled = on;
    },
    startAutoScan: () => this.timer.start(),
    stopAutoScan: () => this.timer.stop(),
    setScanPeriodMs: (ms) => {
      this.timer.periodMs = ms;
    },
    scanNow: () => {
      this.scan();
    },
    dumpObject: (addr) => this.dumpObject(addr),
    log: (line) => this.o.log(line),
  };

  /** kmemleak `clear`: reported, still unreferenced objects turn grey for good. */
  private clearReported(): void {
    const t = this.table;
    for (let s = 0; s < t.hi; s++) {
      if (t.flags[s] & F_ALLOCATED && t.flags[s] & F_REPORTED && t.count[s] < t.minCount[s]) t.minCount[s] = 0;
    }
  }

  /** Irreversible: stops tracking and scanning and frees the metadata. */
  private disable(message: string): void {
    if (this.state === OFF) return;
    this.state = OFF;
    this.timer.stop();
    this.abortRunning();
    this.table.clear();
    this.index.clear();
    this.snap.clear();
    this.pool = null;
    this.o.log(message);
  }

  /** Memory and table figures. */
  stats(): EngineStats {
    this.syncIndex();
    return {
      liveObjects: this.table.live,
      slotCapacity: this.table.capacity,
      tableBytes: this.table.bytes,
      hashBytes: this.index.bytes,
      snapshotBytes: this.snap.bytes,
      depotTraces: this.depot.size,
      depotBytes: this.depot.bytes,
      kernelScans: this.kernelScans,
    };
  }

  // ---- internals ----------------------------------------------------------------------------

  private early(op: number, a: number, b: number, c: number, d: number): void {
    const pool = this.pool;
    if (!pool) return;
    if (!pool.push(op, a >>> 0, b >>> 0, c | 0, d >>> 0, this.contexts.current, this.clock.stamp())) {
      this.disable(
        `kmemleak: Early pool exceeded (${pool.capacity} entries), please increase --early-pool`,
      );
      this.o.log('kmemleak: Memory leak detector disabled');
    }
  }

  private replayOne(op: number, a: number, b: number, c: number, d: number, ctx: number, time: number): void {
    if (this.state !== ACTIVE) return;
    if (op === OP_ALLOC) this.doAlloc(a, b, c, d, time, ctx);
    else if (op === OP_FREE) this.doFree(a, d);
    else if (op === OP_FREE_PART) this.doFreePart(a, b);
    else this.doAnnotate(op, a, b, c, d);
  }

  private doAlloc(ptr: number, size: number, minCount: number, trace: number, jiffies: number, ctx: number): void {
    if (ptr === 0) return;
    const t = this.table;
    const s = this.index.full ? -1 : t.create(ptr, size, minCount, trace, jiffies, ctx);
    if (s < 0) {
      this.disable('kmemleak: Cannot allocate a kmemleak_object structure');
      return;
    }
    this.index.add(s);
  }

  private syncIndex(): boolean {
    return this.index.sync();
  }

  private warnOverlap(ptr: number, size: number, existing: number): void {
    const t = this.table;
    this.o.log(
      `kmemleak: Cannot insert 0x${hex8(ptr)} (size ${size}) into the object search tree ` +
        `(overlaps existing object 0x${hex8(t.start[existing])} (size ${t.size[existing]}))`,
    );
  }

  private doFree(ptr: number, trace: number): void {
    if (ptr === 0) return;
    const s = this.index.takeFree(ptr);
    if (s < 0) {
      if (this.state !== ACTIVE) return;
      this.warnWithTrace(`kmemleak: Freeing unknown object at 0x${hex8(ptr)}`, trace);
      return;
    }
    this.run?.forget(s, ptr);
    this.table.release(s);
  }

  /** kmemleak_free_part: the object loses [ptr, ptr + size); what is left becomes 1 or 2 objects. */
  private doFreePart(ptr: number, size: number): void {
    if (ptr === 0) return;
    if (!this.syncIndex()) return;
    const t = this.table;
    const s = this.findContaining(ptr);
    if (s < 0) {
      this.o.log(`kmemleak: Partially freeing unknown object at 0x${hex8(ptr)} (size ${size})`);
      return;
    }
    const start = t.start[s];
    const end = start + t.size[s];
    const cutEnd = ptr + size;
    const minCount = t.minCount[s];
    const trace = t.trace[s];
    const seq = t.seq[s];
    this.index.remove(start);
    this.run?.forget(s, start);
    t.release(s);
    // New objects as kmemleak creates them (uncoloured, no areas), but keeping the original's
    // allocation time, context and order, so reports still point at the allocation.
    if (ptr > start) this.recreate(start, ptr - start, minCount, trace, seq);
    if (cutEnd < end) this.recreate(cutEnd, end - cutEnd, minCount, trace, seq);
  }

  private recreate(start: number, size: number, minCount: number, trace: number, seq: number): void {
    const t = this.table;
    const s = t.recreate(start, size, minCount, trace, seq);
    if (s < 0) {
      this.disable('kmemleak: Cannot allocate a kmemleak_object structure');
      return;
    }
    if (this.index.insertSynced(start, s) !== -1) t.release(s);
  }

  private annotate(op: number, ptr: number, b: number, c: number, d: number): void {
    if (this.state !== ACTIVE) {
      if (this.state === EARLY) this.early(op, ptr, b, c, d);
      return;
    }
    try {
      this.doAnnotate(op, ptr >>> 0, b >>> 0, c >>> 0, d >>> 0);
    } catch (e) {
      this.internalError(e);
    }
  }

  private doAnnotate(op: number, ptr: number, b: number, c: number, d: number): void {
    if (ptr === 0) return;
    if (!this.syncIndex()) return;
    const t = this.table;
    const s = this.index.find(ptr);
    const at = `0x${hex8(ptr)}`;
    switch (op) {
      case OP_NOT_LEAK:
      case OP_IGNORE:
        if (s < 0) {
          this.o.log(`kmemleak: Trying to color unknown object at ${at} as ${op === OP_NOT_LEAK ? 'Grey' : 'Black'}`);
          return;
        }
        t.minCount[s] = op === OP_NOT_LEAK ? 0 : -1;
        if (op === OP_IGNORE) t.flags[s] |= F_NO_SCAN;
        return;
      case OP_TRANSIENT_LEAK:
        if (s < 0) {
          this.o.log(`kmemleak: Not resetting the checksum of an unknown object at ${at}`);
          return;
        }
        t.resetChecksum(s);
        return;
      case OP_NO_SCAN:
        if (s < 0) {
          this.o.log(`kmemleak: Not scanning unknown object at ${at}`);
          return;
        }
        t.flags[s] |= F_NO_SCAN;
        return;
      case OP_SCAN_AREA:
        if (s < 0) {
          this.o.log(`kmemleak: Adding scan area to unknown object at ${at}`);
          return;
        }
        if (b + c > t.size[s]) {
          this.o.log(`kmemleak: Scan area larger than object ${at}`);
          return;
        }
        t.addArea(s, b, c);
        return;
      case OP_UPDATE_TRACE:
        if (s < 0) {
          this.o.log(`kmemleak: Updating stack trace for unknown object at ${at}`);
          return;
        }
        t.trace[s] = d;
        return;
    }
  }

  /** The live object containing addr: exact start by hash, else a linear search (rare ops only). */
  private findContaining(addr: number): number {
    if (!this.syncIndex()) return -1;
    const exact = this.index.find(addr);
    if (exact >= 0) return exact;
    const t = this.table;
    const start = t.start;
    const size = t.size;
    const flags = t.flags;
    for (let s = 0; s < t.hi; s++) {
      if (!(flags[s] & F_ALLOCATED)) continue;
      const st = start[s];
      const sz = size[s] === 0 ? 1 : size[s];
      if (addr >= st && addr < st + sz) return s;
    }
    return -1;
  }

  /**
   * The snapshot found two live objects overlapping (exact duplicates not yet synced included).
   * No sync here: the build is iterating the table. An unindexed slot just dies; a sync skips it.
   */
  private dropOverlap(kept: number, dropped: number): void {
    const t = this.table;
    this.warnOverlap(t.start[dropped], t.size[dropped], kept);
    this.index.drop(t.start[dropped], dropped);
    t.release(dropped);
  }

  private warnWithTrace(line: string, trace: number): void {
    this.o.log(line);
    if (trace === 0) return;
    const frames = this.describe(trace);
    if (frames) for (const f of frames) this.o.log(`    ${formatFrame(f)}`);
    else {
      const raw = this.depot.frames(trace);
      for (let i = 0; i + 1 < raw.length; i += 2) this.o.log(`    wasm-function[${raw[i]}]:0x${raw[i + 1].toString(16)}`);
    }
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.internalError(e);
    }
  }

  private internalError(e: unknown): void {
    try {
      this.disable(`kmemleak: internal error, detector disabled: ${errorText(e)}`);
    } catch {
      this.state = OFF;
    }
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
