/**
 * Why: the `kmemleak` import module of SPEC §5, through which a program's own allocator (a pool,
 * a slab) reports its objects, as kernel allocators call kmemleak_alloc() and friends. Each
 * import forwards to the engine; `alloc` and `update_trace` record the caller's backtrace.
 *
 * Invariants: pointers and sizes arrive as wasm i32 and are read unsigned (>>> 0), min_count
 * signed (| 0); nothing here throws into wasm (the engine warns through its log instead). Each
 * engine call, `scan` included, is bracketed by `guard.enter/leave`: under `kmemleak run` enter
 * replays the event log first, so the engine is current, and a warning the call raises (an
 * unknown object) can show the caller's backtrace. `free` passes no backtrace: the warning path
 * captures one when needed. With the detector off every import is a no-op and `scan` returns 0,
 * as kmemleak=off makes the kernel API do nothing.
 */
import type { EnginePort } from './engine-port.js';

export const ANNOTATION_MODULE = 'kmemleak';

/** Backtrace of the wasm caller, as a depot handle. */
export type TraceHere = () => number;

export interface HookGuard { enter(): void; leave(): void }
const NO_GUARD: HookGuard = { enter() {}, leave() {} };

export type AnnotationFn = (...a: number[]) => number | void;

export function annotationImports(k: EnginePort, traceHere: TraceHere, guard: HookGuard = NO_GUARD): Record<string, AnnotationFn> {
  const { enter, leave } = guard;
  return {
    alloc: (ptr: number, size: number, minCount: number) => {
      const trace = traceHere();
      enter(); try { k.alloc(ptr >>> 0, size >>> 0, minCount | 0, trace); } finally { leave(); }
    },
    free: (ptr: number) => { enter(); try { k.free(ptr >>> 0, 0); } finally { leave(); } },
    free_part: (ptr: number, size: number) => { enter(); try { k.freePart(ptr >>> 0, size >>> 0); } finally { leave(); } },
    not_leak: (ptr: number) => { enter(); try { k.notLeak(ptr >>> 0); } finally { leave(); } },
    transient_leak: (ptr: number) => { enter(); try { k.transientLeak(ptr >>> 0); } finally { leave(); } },
    ignore: (ptr: number) => { enter(); try { k.ignore(ptr >>> 0); } finally { leave(); } },
    no_scan: (ptr: number) => { enter(); try { k.noScan(ptr >>> 0); } finally { leave(); } },
    scan_area: (ptr: number, offset: number, length: number) => {
      enter(); try { k.scanArea(ptr >>> 0, offset >>> 0, length >>> 0); } finally { leave(); }
    },
    update_trace: (ptr: number) => {
      const trace = traceHere();
      enter(); try { k.updateTrace(ptr >>> 0, trace); } finally { leave(); }
    },
    // enter() replays the event log first (hooks.ts): a scan must see every allocation and free
    // made before it, or a free not yet replayed is a false leak, an allocation a missed one.
    scan: () => { enter(); try { return k.scan() | 0; } finally { leave(); } },
  };
}

/** The same imports doing nothing, for --off. */
export function disabledAnnotationImports(): Record<string, AnnotationFn> {
  const nop = (): void => {};
  return {
    alloc: nop, free: nop, free_part: nop, not_leak: nop, transient_leak: nop, ignore: nop,
    no_scan: nop, scan_area: nop, update_trace: nop, scan: () => 0,
  };
}
