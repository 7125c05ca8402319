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
 * Invariants: the hooks allocate no JS objects on a cache hit; they never throw into wasm (the
 * engine's hooks do not throw); each hook calls `tick` (automatic scans) after updating the engine.
 */
import type { Frame } from '../../symbolize/frame.js';
import { formatFrame } from '../../symbolize/index.js';
import type { Backtraces } from './backtraces.js';
import type { EnginePort } from './engine-port.js';

export type HookFn = (...args: number[]) => void;

export class HookWiring {
  /** Calling-context reader for annotation imports (bound once the instance exists). */
  readContext: ((out: Uint32Array) => void) | null = null;
  private readonly ctx = new Uint32Array(2);
  private inHook = 0;
  private traced = false;

  constructor(
    private readonly engine: EnginePort,
    private readonly traces: Backtraces,
    /** Whether the rewriter's context keys identify call paths (false: every key is 0,0). */
    private readonly keyed: boolean,
    private readonly tick: () => void,
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
  enter = (): void => { this.inHook++; this.traced = false; };
  leave = (): void => { this.inHook--; };

  imports(names: readonly string[]): Record<string, HookFn> {
    const k = this.engine;
    const all: Record<string, HookFn> = {
      alloc: (ptr: number, size: number, lo: number, hi: number) => {
        const trace = this.trace(lo, hi);
        this.enter();
        try { k.alloc(ptr >>> 0, size >>> 0, this.traces.isStartup(trace) ? 0 : 1, trace); } finally { this.leave(); }
        this.tick();
      },
      free: (ptr: number) => {
        this.enter();
        try { k.free(ptr >>> 0, 0); } finally { this.leave(); }
        this.tick();
      },
      realloc: (old: number, ptr: number, size: number, lo: number, hi: number) => {
        const trace = this.trace(lo, hi);
        this.enter();
        try {
          if (old !== 0) k.free(old >>> 0, 0);
          k.alloc(ptr >>> 0, size >>> 0, this.traces.isStartup(trace) ? 0 : 1, trace);
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
