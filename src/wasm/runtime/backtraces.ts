/**
 * Why: every allocation needs a backtrace handle, and capturing a stack is the most expensive
 * thing the detector does. The rewriter gives each allocation a calling-context key; a key seen
 * before reuses the handle captured the first time (ContextCache), so the stack is captured once
 * per distinct call path. Without keys (`traceHere`), each call captures.
 *
 * Invariants: the scratch buffer is reused (no allocation on a cache hit); the frames saved are
 * in the ORIGINAL binary's numbering with the allocator's frames removed at the top (see
 * allocator-frames.ts); at most `depth` frames per trace (`--trace-depth`, default MAX_TRACE).
 * Whether a function is allocator code is decided once per function index and remembered in a
 * typed array. Depth 0 is stacks off: nothing is ever captured and every handle is 0 (the depot's
 * empty trace), but contexts are still counted and cached, so the event log's fast path stays on.
 * A context not seen before is first given to the context solver (context-solver.ts), which
 * rebuilds its trace from traces already captured when it can prove the result equal to a capture
 * (recursion); otherwise the stack is captured and the solver learns from it.
 * KMEMLEAK_CONTEXT_SOLVER=off in the environment turns the solver off (comparisons, bisecting).
 */
import type { Frame } from '../../symbolize/frame.js';
import { isAllocatorName, isStartupName } from './allocator-frames.js';
import { ContextCache } from './context-cache.js';
import { ContextSolver, RawChain } from './context-solver.js';
import type { DepotPort } from './engine-port.js';
import { MAX_TRACE, StackCapture, type OriginalMap } from './stack-capture.js';

/** The symbolizer's contract: a raw frame of the original binary -> a named frame. */
export interface FrameSource {
  frame(funcIndex: number, moduleOffset: number): Frame;
  /** The function's name alone: cheap from the name section, no line table decoded. */
  functionName?(funcIndex: number): string | null;
}

const UNKNOWN = 0, HIDE = 1, KEEP = 2, STARTUP = 3;

/**
 * Decides, once per original function index, whether it is allocator code (hidden at the top of
 * a trace) or C library start-up code (its blocks are not leaks: see isStartupName).
 */
export class AllocatorFrames {
  private verdict = new Uint8Array(1024);

  constructor(private readonly names: FrameSource | null, private readonly entryPoints: ReadonlySet<number> = new Set()) {}

  private classify(funcIndex: number, offset: number): number {
    if (funcIndex >= this.verdict.length) {
      const grown = new Uint8Array(Math.max(funcIndex + 1, this.verdict.length * 2));
      grown.set(this.verdict);
      this.verdict = grown;
    }
    let v = this.verdict[funcIndex]!;
    if (v === UNKNOWN) {
      v = this.entryPoints.has(funcIndex) ? HIDE : KEEP;
      if (v === KEEP && this.names) {
        try {
          const name = this.names.functionName ? this.names.functionName(funcIndex) : this.names.frame(funcIndex, offset).function;
          v = isAllocatorName(name) ? HIDE : isStartupName(name) ? STARTUP : KEEP;
        } catch { v = KEEP; }
      }
      this.verdict[funcIndex] = v;
    }
    return v;
  }

  hidden(funcIndex: number, offset: number): boolean {
    return this.classify(funcIndex, offset) === HIDE;
  }

  startup(funcIndex: number, offset: number): boolean {
    return this.classify(funcIndex, offset) === STARTUP;
  }
}

/** An environment variable where there is one (Node); undefined in a browser. */
function envSetting(name: string): string | undefined {
  return typeof process !== 'undefined' ? process.env?.[name] : undefined;
}

export class Backtraces {
  private readonly scratch = new Uint32Array(2 * MAX_TRACE);
  private readonly cache = new ContextCache();
  private readonly capture: StackCapture;
  /** Stack captures done (cache misses plus uncached captures), for statistics and tests. */
  captures = 0;

  /** Per depot handle: 1 when the trace starts in C library start-up code. */
  private startupFlags = new Uint8Array(256);

  constructor(
    private readonly depot: DepotPort,
    map: OriginalMap | null,
    private readonly allocator: AllocatorFrames,
    /** Frames kept per trace, 0..MAX_TRACE (validated by the caller); 0: no trace is captured. */
    readonly depth: number = MAX_TRACE,
    /** Whether unknown contexts go to the context solver first (only with a rewriter's map). */
    solver: boolean = envSetting('KMEMLEAK_CONTEXT_SOLVER') !== 'off',
  ) {
    const hidden = (f: number, o: number): boolean => allocator.hidden(f, o);
    this.capture = new StackCapture(map, hidden, Math.max(1, depth));
    if (solver && map && depth > 0) {
      this.solver = new ContextSolver(depot, depth, hidden);
      this.chain = new RawChain(this.capture.limit + 8);
    }
  }

  private readonly solver: ContextSolver | null = null;
  private readonly chain: RawChain | null = null;
  /** Unknown contexts whose trace the solver rebuilt without a capture. */
  solved = 0;

  /** The caller's backtrace, captured now (0, the empty trace, at depth 0). */
  here(): number {
    if (this.depth === 0) return 0;
    this.captures++;
    return this.save(this.capture.capture(this.scratch));
  }

  /**
   * The handle of a trace another thread captured: `count` wasm frames of the rewritten module at
   * raw[from..] (StackCapture.fromRaw); 0 at depth 0.
   */
  fromRaw(raw: Uint32Array, from: number, count: number): number {
    if (this.depth === 0) return 0;
    return this.save(this.capture.fromRaw(raw, from, count, this.scratch));
  }

  /** Saves the first n frames of the scratch buffer and classifies the trace. */
  private save(n: number): number {
    const handle = this.depot.save(this.scratch, 2 * n);   // the depot counts u32 words
    if (n > 0 && this.allocator.startup(this.scratch[0]!, this.scratch[1]!)) {
      if (handle >= this.startupFlags.length) {
        const grown = new Uint8Array(Math.max(handle + 1, this.startupFlags.length * 2));
        grown.set(this.startupFlags);
        this.startupFlags = grown;
      }
      this.startupFlags[handle] = 1;
    }
    return handle;
  }

  /** Whether blocks with this trace belong to the C library's start-up code (never leaks). */
  isStartup(handle: number): boolean {
    return handle < this.startupFlags.length && this.startupFlags[handle] === 1;
  }

  /** The backtrace for a calling-context key, captured on the first sight of the key. */
  forContext(lo: number, hi: number): number {
    const h = this.cache.get(lo, hi);
    if (h >= 0) return h;
    let handle: number;
    const solver = this.solver;
    if (solver !== null && solver.active) {
      const n = solver.solve(lo, hi, this.scratch);
      if (n >= 0) {
        handle = this.save(n);
        solver.commit(handle);
        this.solved++;
      } else {
        this.captures++;
        handle = this.save(this.capture.capture(this.scratch, this.chain));
        solver.learn(lo, hi, this.chain!, handle);
      }
    } else {
      handle = this.here();
    }
    this.cache.set(lo, hi, handle);
    return handle;
  }

  /** Distinct calling contexts seen. */
  get contexts(): number { return this.cache.size; }
}
