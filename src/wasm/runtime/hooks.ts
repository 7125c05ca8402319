/**
 * Why: the rewriter's allocator wrappers call the `__kmemleak_hooks` imports (contract in
 * src/wasm/instrument/wrappers.ts): alloc(ptr, size, ctxLo, ctxHi), free(ptr) and
 * realloc(old, new, size, ctxLo, ctxHi). Here they become engine calls, kmemleak_alloc with
 * min_count 1 and kmemleak_free, with the allocation's backtrace from the calling-context cache
 * (min_count 0, i.e. kmemleak_not_leak, for the C library's start-up blocks: backtraces.ts).
 *
 * Frees carry no backtrace (capturing one per free would cost more than the free); instead, when
 * the engine warns while a hook or annotation runs (a double free, an unknown pointer), the
 * caller's backtrace is captured at that moment, while its frames are still live, and printed
 * under the warning, as kmemleak's warnings dump the stack.
 *
 * The fast path: once a calling context's stack is captured, the context is put in the event
 * log's table (event-log.ts) and the wasm wrappers log its allocations and frees in linear memory
 * instead of calling these hooks; `flush` replays them through `events`. Every hook and annotation
 * flushes first (enter), so the engine sees events in program order.
 *
 * Stacks off (`--trace-depth 0`): every handle is 0 and nothing is captured, but a new context
 * still enters the event log's table (with handle 0) exactly as above, so wasm keeps logging.
 * The C library's start-up blocks, which no backtrace names then (nor in a binary without
 * function names), are told by the WASI argument calls around them (startup-args.ts opens and
 * closes `startupWindow`).
 *
 * Invariants: the hooks allocate no JS objects on a cache hit; they never throw into wasm (the
 * engine's hooks do not throw); each hook calls `tick` (automatic scans) after updating the engine.
 */
import type { Frame } from '../../symbolize/frame.js';
import { formatFrame } from '../../report/text.js';
import type { Backtraces } from './backtraces.js';
import type { EnginePort } from './engine-port.js';
import type { EventLog, EventSink } from './event-log.js';
import { eachEvent } from '../../engine/batch.js';

export type HookFn = (...args: number[]) => void;

/** Distinct free call paths whose stacks are captured (for double-free warnings); see free. */
export const FREE_CONTEXT_BUDGET = 1024;

export class HookWiring {
  /** Calling-context reader for annotation imports (bound once the instance exists). */
  readContext: ((out: Uint32Array) => void) | null = null;
  private readonly ctx = new Uint32Array(2);
  private inHook = 0;
  private freeCaptures = 0;
  private traced = false;
  /** True while the C library's start-up allocates argv (startup-args.ts). */
  private inStartup = false;
  /** The fast path's log, once enabled (null: every event takes its hook). */
  eventLog: EventLog | null = null;
  /** Enables the fast path at the first allocation hook (the allocator is initialized by then). */
  enableEventLog: (() => EventLog | null) | null = null;

  constructor(
    private readonly engine: EnginePort,
    private readonly traces: Backtraces,
    /** Whether the rewriter's context keys identify call paths (false: every key is 0,0). */
    private readonly keyed: boolean,
    private readonly tick: (force?: boolean) => void,
    private readonly out: (line: string) => void,
    private readonly describe: (trace: number) => Frame[],
  ) {}

  private trace(lo: number, hi: number): number {
    return this.keyed ? this.traces.forContext(lo, hi) : this.traces.here();
  }

  /** The backtrace of an annotation's caller (cached by calling context when it is exported). */
  annotationTrace(): number {
    if (this.keyed && this.readContext) {
      this.readContext(this.ctx);
      return this.traces.forContext(this.ctx[0]!, this.ctx[1]!);
    }
    return this.traces.here();
  }

  /** The engine's log: warnings raised inside a hook get the caller's backtrace once. */
  log = (line: string): void => {
    this.out(line + '\n');
    if (this.inHook > 0 && !this.traced && /^kmemleak: /.test(line)) {
      this.traced = true;
      let text = '';
      try {
        for (const f of this.describe(this.traces.here())) text += `    ${formatFrame(f)}\n`;
      } catch { /* a warning without its backtrace is still a warning */ }
      if (text) this.out(text);
    }
  };

  /** Brackets an engine call made for wasm code: warnings inside get the caller's backtrace. */
  enter = (): void => { this.eventLog?.flush(); this.inHook++; this.traced = false; };

  /** Open __lsan_disable() calls: blocks allocated meanwhile are never reported (min_count 0). */
  private ignoring = 0;

  /** kmemleak_not_leak (min_count 0) for start-up blocks and while ignoring, else min_count 1. */
  private minCount(trace: number): number {
    return this.inStartup || this.ignoring > 0 || this.traces.isStartup(trace) ? 0 : 1;
  }

  /**
   * LeakSanitizer's __lsan_disable (+1) and __lsan_enable (-1); events logged before are replayed
   * first, as for the start-up window. Returns the new depth.
   */
  ignoreAllocations(delta: 1 | -1): number {
    this.eventLog?.flush();
    this.ignoring += delta;
    return this.ignoring;
  }

  /**
   * Opens or closes the start-up window: blocks allocated while it is open get min_count 0.
   * Events logged before are replayed first, so each is judged by the window of its own time.
   */
  startupWindow(open: boolean): void {
    this.eventLog?.flush();
    this.inStartup = open;
  }

  /** Replays logged events (event-log.ts) into the engine. */
  readonly events: EventSink = {
    alloc: (ptr, size, trace) => {
      this.engine.alloc(ptr, size, this.minCount(trace), trace);
    },
    // The engine prints a warning's backtrace itself when given one: the logged free's caller.
    free: (ptr, trace) => { this.engine.free(ptr, trace); },
    // A window at once. Every logged allocation has the min_count of the moment: start-up
    // contexts, whose blocks get 0 by their trace, are never put in the log's table (remember).
    batch: (words, from, to) => {
      const k = this.engine;
      if (k.applyEvents) k.applyEvents(words, from, to, this.inStartup || this.ignoring > 0 ? 0 : 1);
      else eachEvent(words, from, to, this.events.alloc, this.events.free);
    },
  };

  /** Lets the wrappers log this context's events from now on (its stack is in `trace`). */
  private remember(lo: number, hi: number, trace: number): void {
    if (this.keyed && this.eventLog && !this.traces.isStartup(trace)) this.eventLog.remember(lo, hi, trace);
  }
  leave = (): void => { this.inHook--; };

  /** Enables the fast path at the first allocation hook (the allocator is initialized by then). */
  private startEventLog(): void {
    if (!this.enableEventLog) return;
    const setup = this.enableEventLog;
    this.enableEventLog = null;
    this.eventLog = setup();
  }

  imports(names: readonly string[]): Record<string, HookFn> {
    const k = this.engine;
    const all: Record<string, HookFn> = {
      alloc: (ptr: number, size: number, lo: number, hi: number) => {
        this.startEventLog();
        const trace = this.trace(lo, hi);
        this.remember(lo, hi, trace);
        this.enter();
        try { k.alloc(ptr >>> 0, size >>> 0, this.minCount(trace), trace); } finally { this.leave(); }
        this.tick();
      },
      free: (ptr: number, lo: number, hi: number) => {
        this.enter();
        try { k.free(ptr >>> 0, 0); } finally { this.leave(); }
        // A free context seen for the first time: capture it once, so the next frees from
        // there are logged (and a warning one raises later still shows this exact backtrace).
        // Frees need a backtrace only for warnings, and recursive destructors (a std::map's)
        // free from thousands of call paths: past FREE_CONTEXT_BUDGET captures, new free
        // paths are logged with no backtrace (a warning from one then prints none). At trace
        // depth 0 forContext captures nothing and gives 0: the context is learned all the same.
        if (this.keyed && this.eventLog && (lo | hi) !== 0) {
          const trace = this.freeCaptures < FREE_CONTEXT_BUDGET ? this.traces.forContext(lo, hi) : 0;
          if (trace !== 0) this.freeCaptures++;
          this.remember(lo, hi, trace);
        }
        this.tick();
      },
      // The log reached the batch's end: a safe point, which replays the log only when its
      // window is full (event-log.ts); a scan or command run by tick flushes it all first.
      flush: () => {
        this.eventLog?.checkpoint();
        this.tick(true);
      },
      realloc: (old: number, ptr: number, size: number, lo: number, hi: number) => {
        // A program may allocate through realloc alone (Lua's allocator): it enables the log too,
        // and its contexts are learned like malloc's, so the wrapper logs the next ones.
        this.startEventLog();
        const trace = this.trace(lo, hi);
        this.remember(lo, hi, trace);
        this.enter();
        try {
          if (old !== 0) k.free(old >>> 0, 0);
          k.alloc(ptr >>> 0, size >>> 0, this.minCount(trace), trace);
        } finally { this.leave(); }
        this.tick();
      },
    };
    const out: Record<string, HookFn> = {};
    for (const n of names) {
      const f = all[n];
      if (!f) throw new Error(`the rewriter asks for an unknown hook import '${n}'`);
      out[n] = f;
    }
    return out;
  }
}
