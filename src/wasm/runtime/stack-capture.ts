/**
 * Why: a backtrace of the wasm program at an allocation. No host API reads wasm frames directly,
 * but V8 records them in JS stack traces (`wasm-function[N]:0xOFF`, N the function index and OFF
 * the byte offset in the module file, both in the REWRITTEN module). Frames are mapped back to
 * the original binary through the rewriter's maps, the detector's own functions (which have no
 * original) are dropped, and so is the leading run of allocator frames, before at most
 * MAX_TRACE frames are kept, as kmemleak does.
 *
 * Invariants: `capture` overrides Error.prepareStackTrace and Error.stackTraceLimit only for the
 * duration of one capture and restores both, even on exceptions; it writes (funcIndex, offset)
 * pairs into the caller's Uint32Array and returns the frame count. It allocates (V8 call sites),
 * so callers cache by calling context and capture on misses only. With a smaller `keep` (the
 * `--trace-depth`), the frames kept are the first `keep` of the full trace (allocator frames are
 * hidden first), and V8 is asked for fewer call sites.
 */

import type { RawChain } from './context-solver.js';

/** kmemleak's MAX_TRACE. */
export const MAX_TRACE = 16;

/** The rewriter's maps from the rewritten module back to the original. */
export interface OriginalMap {
  /** Original function index for a function of the rewritten module; negative/undefined when it was added. */
  originalFunction(newIndex: number): number | undefined | null;
  /** Original module offset for an offset in the rewritten module. */
  originalOffset(newOffset: number): number | undefined | null;
}

/** One wasm frame as V8 reports it, in the module it ran. */
export interface RawWasmFrame { funcIndex: number; offset: number; name: string | null }

// JS frames of the hooks, the engine and the runtime sit above the wasm frames; allow for them.
const JS_FRAME_ALLOWANCE = 8;
const WASM_FRAME_RE = /wasm-function\[(\d+)\]:0x([0-9a-fA-F]+)/;

interface CallSiteLike {
  getFileName(): string | null | undefined;
  getFunction(): unknown;
  getFunctionName(): string | null;
  getColumnNumber(): number | null;
  toString(): string;
}

function collectCallSites(_err: Error, sites: CallSiteLike[]): CallSiteLike[] { return sites; }

/** Wasm frames in a V8 stack string (a trap's `err.stack`), innermost first; JS frames skipped. */
export function parseV8Stack(stack: string): RawWasmFrame[] {
  const out: RawWasmFrame[] = [];
  for (const line of stack.split('\n')) {
    const m = WASM_FRAME_RE.exec(line);
    if (!m) continue;
    const named = /^\s*at (.+?) \(wasm:\/\//.exec(line);
    out.push({ funcIndex: Number(m[1]), offset: parseInt(m[2]!, 16), name: named ? named[1]! : null });
  }
  return out;
}

function siteFrame(site: CallSiteLike, into: { funcIndex: number; offset: number }): boolean {
  const file = site.getFileName();
  if (typeof file !== 'string' || !file.startsWith('wasm://')) return false;
  const fn = site.getFunction();
  const col = site.getColumnNumber();
  if (typeof fn === 'number' && typeof col === 'number') {
    into.funcIndex = fn;
    into.offset = col - 1;
    return true;
  }
  const m = WASM_FRAME_RE.exec(site.toString());
  if (!m) return false;
  into.funcIndex = Number(m[1]);
  into.offset = parseInt(m[2]!, 16);
  return true;
}

/**
 * The wasm frames of a thrown error (a trap), innermost first. V8 formats `err.stack` lazily, on
 * first access, with the Error.prepareStackTrace in force then; reading it here under our own
 * hook gets the structured call sites whatever formatter the host installed (test runners and
 * source-map tools replace it and may drop wasm frames). A stack already formatted is parsed.
 */
export function wasmFramesOf(err: Error): RawWasmFrame[] {
  const savedPrepare = Error.prepareStackTrace;
  let stack: unknown;
  try {
    Error.prepareStackTrace = collectCallSites as unknown as typeof Error.prepareStackTrace;
    stack = err.stack;
  } catch {
    stack = undefined;
  } finally {
    Error.prepareStackTrace = savedPrepare;
  }
  if (typeof stack === 'string') return parseV8Stack(stack);
  if (!Array.isArray(stack)) return [];
  const out: RawWasmFrame[] = [];
  const f = { funcIndex: 0, offset: 0 };
  for (const site of stack as CallSiteLike[]) {
    if (siteFrame(site, f)) out.push({ funcIndex: f.funcIndex, offset: f.offset, name: site.getFunctionName() });
  }
  return out;
}

/**
 * Captures backtraces in the original binary's numbering. `hideAtTop(funcIndex, offset)` says
 * whether an original function is allocator code to leave out at the top of a trace.
 */
export class StackCapture {
  private readonly scratch = { funcIndex: 0, offset: 0 };

  constructor(
    private readonly map: OriginalMap | null,
    private readonly hideAtTop: (funcIndex: number, offset: number) => boolean,
    /** Frames kept per trace, 1..MAX_TRACE. */
    private readonly keep = MAX_TRACE,
    /** How many wasm frames to look at: enough for the hidden ones plus `keep` kept. */
    private readonly depth = keep + 16,
  ) {}

  /** Wasm frames V8 is asked for: `keep` kept plus room for hidden and dropped ones. */
  get limit(): number { return this.depth; }

  /**
   * Writes up to `keep` (funcIndex, offset) pairs into `out`; returns the frame count. With a
   * `chain`, also every original frame seen, hidden ones included (context-solver.ts learns
   * from it), and whether the stack was seen whole.
   */
  capture(out: Uint32Array, chain: RawChain | null = null): number {
    const savedPrepare = Error.prepareStackTrace;
    const savedLimit = Error.stackTraceLimit;
    const holder: { stack?: unknown } = {};
    let sites: unknown;
    try {
      Error.stackTraceLimit = this.depth + JS_FRAME_ALLOWANCE;
      Error.prepareStackTrace = collectCallSites as unknown as typeof Error.prepareStackTrace;
      Error.captureStackTrace(holder);
      sites = holder.stack;
    } finally {
      Error.prepareStackTrace = savedPrepare;
      Error.stackTraceLimit = savedLimit;
    }
    if (!Array.isArray(sites)) return 0;
    chain?.reset(sites.length < this.depth + JS_FRAME_ALLOWANCE);
    const max = Math.min(this.keep, MAX_TRACE, out.length >>> 1);
    const f = this.scratch;
    let n = 0;
    for (let i = 0; i < sites.length && (n < max || chain); i++) {
      if (!siteFrame(sites[i] as CallSiteLike, f)) { chain?.skipped(); continue; }
      n = this.keepFrame(f.funcIndex, f.offset, out, n, max, chain);
    }
    return n;
  }

  /**
   * Like capture, from wasm frames another thread captured (pairs of the REWRITTEN module's
   * numbering, innermost first: a pthread's worker, src/api/threads/): same mapping, same hiding.
   */
  fromRaw(raw: Uint32Array, from: number, count: number, out: Uint32Array): number {
    const max = Math.min(this.keep, MAX_TRACE, out.length >>> 1);
    let n = 0;
    for (let i = 0; i < count && n < max; i++) n = this.keepFrame(raw[from + 2 * i]!, raw[from + 2 * i + 1]!, out, n, max, null);
    return n;
  }

  /** Maps one wasm frame back to the original and keeps it in out[n] when due; the new count. */
  private keepFrame(fn: number, off: number, out: Uint32Array, n: number, max: number, chain: RawChain | null): number {
    if (this.map) {
      const of = this.map.originalFunction(fn);
      if (of === undefined || of === null || of < 0) { chain?.skipped(); return n; }   // the detector's own code
      const oo = this.map.originalOffset(off);
      fn = of;
      off = oo === undefined || oo === null || oo < 0 ? 0 : oo;
    }
    chain?.push(fn, off);
    if (n >= max) return n;
    if (n === 0 && this.hideAtTop(fn, off)) return n;
    out[2 * n] = fn;
    out[2 * n + 1] = off;
    return n + 1;
  }
}
