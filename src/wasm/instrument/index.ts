/**
 * instrument(): rewrites a wasm module so its allocator reports to kmemleak, and maps the
 * rewritten module's code back to the original.
 *
 * API
 *   instrument(original: Uint8Array, opts?: InstrumentOptions): Instrumented
 *     Throws WasmFormatError (malformed input; `not a wasm module (bad magic)`, `truncated ... at
 *     offset 0x..`), WasmUnsupportedError (GC types, memory64, already instrumented, ...) or
 *     AllocatorNotFoundError (no allocator; the message lists what was tried and says
 *     `--allocator malloc=NAME,free=NAME`). All have a one-line `message`; all extend
 *     WasmFormatError.
 *
 *   InstrumentOptions
 *     allocator?: { malloc: 'name' | index, free: ..., ... }  explicit entry points (keys are the
 *       names in ALLOCATOR_SPECS: malloc, calloc, realloc, free, aligned_alloc, posix_memalign,
 *       memalign, valloc, _Znwm, _ZdlPv, ..., __rust_alloc, __rust_dealloc, ...). When given,
 *       nothing else is searched.
 *     callingContext?: boolean (default true)  probabilistic calling-context instrumentation.
 *     spillLocals?: boolean (default true)  i32 locals stored on the shadow stack around calls
 *       that can reach proc_exit, a blocking WASI call or kmemleak's scan (spill.ts).
 *
 *   Instrumented
 *     binary            the rewritten module (validates; same behaviour; name section kept with
 *                       shifted indices plus kmemleak_hook_* / kmemleak_wrap_* names; DWARF and
 *                       other custom sections byte-identical)
 *     hookModule        '__kmemleak_hooks'
 *     hooks             import names added, a subset of ['alloc', 'free', 'realloc'] in that
 *                       order; their contract is in ./wrappers.ts:
 *                         alloc(ptr, size, ctxLo, ctxHi)  free(ptr)  realloc(old, new, size, ctxLo, ctxHi)
 *     allocators        entry points found: { name, index (original), wrapper (new index),
 *                       family, shape, source }
 *     exports           names in the rewritten module: memory (existing export or added),
 *                       stackPointer (the __stack_pointer global, or null if none was found),
 *                       depth (i32 allocator nesting depth), context (the i64 calling-context
 *                       global, null when off; during a call to a `kmemleak` annotation import
 *                       it holds that call's context), reset (a function: after a trap escaped
 *                       the module, call it before calling into the module again; it zeroes
 *                       depth, context and the entry level, which the trap left behind)
 *                       Exports that may reach an allocator go through entry trampolines that
 *                       zero the context when called from the host with no wasm frame live, so
 *                       a stale context never makes a new path look like an old one.
 *     originalOffset(newModuleOffset) -> original module offset, -1 outside original code.
 *                       Copied bytes map exactly; inserted instructions map to the original
 *                       instruction they precede; wrapper code maps to -1.
 *     originalFunction(newIndex) -> original function index, -1 for what we added (hooks,
 *                       wrappers, entry trampolines, reset): frames to drop.
 *     newFunction(originalIndex) -> the function's index in the rewritten module.
 *     wrapperOf(newIndex) -> the allocator entry a wrapper stands for, or null.
 *     contextOf(callSiteOffsets) -> the context value a wrapper sees after that chain of original
 *                       call-site offsets (outermost first), for tests and tools.
 *     stats             { instrumentedFunctions, instrumentedCallSites, entryTrampolines, spillSites, spilledLocals, offsetSegments }
 *     warnings          non-fatal remarks (malformed name section, ...)
 *
 * Why: see rewrite.ts (our own rewriter keeps code offsets exact), wrappers.ts (hook contract),
 * pcc.ts (calling context), offset-map.ts (the map).
 */
import {
  parseModule, callGraph, memory0, WasmUnsupportedError,
} from '../binary/index.js';
import { findStackPointer } from '../layout/stack-pointer.js';
import {
  findAllocators, type AllocatorEntry, type AllocatorOption, ALLOCATOR_SPECS, AllocatorNotFoundError,
} from './allocators.js';
import { reachingFunctions, contextOf as pccContextOf } from './pcc.js';
import { rewrite, HOOK_MODULE, type HookName } from './rewrite.js';
import { planSpills } from './spill.js';
import { OffsetMap, type OffsetMapData } from './offset-map.js';

export { ALLOCATOR_SPECS, AllocatorNotFoundError, HOOK_MODULE };
export type { AllocatorEntry, AllocatorOption, HookName };
export type { AllocShape, AllocFamily, AllocatorSource } from './allocators.js';
export { WasmFormatError, WasmUnsupportedError } from '../binary/index.js';
export { callSiteConstant } from './pcc.js';

export interface InstrumentOptions {
  allocator?: AllocatorOption;
  callingContext?: boolean;
  /** Spill i32 locals around calls that can reach a scan (spill.ts). Default true. */
  spillLocals?: boolean;
}

export interface InstrumentedAllocator extends AllocatorEntry {
  /** The wrapper's index in the rewritten module. */
  wrapper: number;
}

export interface Instrumented {
  binary: Uint8Array<ArrayBuffer>;
  hookModule: string;
  hooks: HookName[];
  allocators: InstrumentedAllocator[];
  exports: {
    memory: string; stackPointer: string | null; depth: string; context: string | null; reset: string;
    /** The event log's globals (fast path: runtime/event-log.ts); null without calling context. */
    eventLog: { pos: string; end: string; start: string; knownBase: string; knownMask: string; rawMalloc: string } | null;
  };
  callingContext: boolean;
  originalOffset(newOffset: number): number;
  originalFunction(newIndex: number): number;
  newFunction(originalIndex: number): number;
  wrapperOf(newIndex: number): InstrumentedAllocator | null;
  contextOf(callSiteOffsets: number[]): bigint;
  stats: { instrumentedFunctions: number; instrumentedCallSites: number; entryTrampolines: number; spillSites: number; spilledLocals: number; offsetSegments: number };
  warnings: string[];
}

export function instrument(original: Uint8Array, opts: InstrumentOptions = {}): Instrumented {
  const m = parseModule(original);
  if (m.imports.some((i) => i.module === HOOK_MODULE)) {
    throw new WasmUnsupportedError(`module is already instrumented (it imports from ${HOOK_MODULE})`);
  }
  const mem = memory0(m);
  if (!mem) throw new AllocatorNotFoundError('the module has no linear memory, so no allocator to watch');
  if (mem.memory64) throw new WasmUnsupportedError('memory64 modules are not supported');
  const graph = callGraph(m);
  const allocators = findAllocators(m, graph, opts.allocator);
  const callingContext = opts.callingContext !== false;
  const reach = callingContext ? reachingFunctions(m, graph, allocators.map((a) => a.index)) : null;
  const sp = findStackPointer(m);
  const stackPointerGlobal = sp ? sp.global : null;
  const spills = opts.spillLocals === false ? null : planSpills(m, graph, stackPointerGlobal);
  const res = rewrite({ m, graph, allocators, reach, stackPointerGlobal, spills, exportFunctions: checkerCallbacks(m) });

  const withWrappers: InstrumentedAllocator[] = allocators.map((a, j) => ({ ...a, wrapper: res.wrappers[j]! }));
  return assemble(res.binary, res.map, {
    importedFuncs: m.importedFuncCount,
    definedFuncs: m.functions.length,
    hooks: res.hooks,
    allocators: withWrappers,
    exports: res.exports,
    callingContext,
    stats: {
      instrumentedFunctions: res.instrumentedFunctions,
      instrumentedCallSites: res.instrumentedCallSites,
      entryTrampolines: res.trampolines,
      spillSites: res.spillSites,
      spilledLocals: res.spilledLocals,
      offsetSegments: res.map.segments,
    },
    warnings: [...m.warnings],
  });
}

/**
 * Functions a program defines for LeakSanitizer to call (its own options, suppressions, off
 * switch): wasm-ld does not export them, so they are found by name and exported under it.
 */
export const CHECKER_CALLBACKS = ['__lsan_is_turned_off', '__lsan_default_options', '__lsan_default_suppressions'] as const;

function checkerCallbacks(m: ReturnType<typeof parseModule>): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  if (!m.names) return out;
  const wanted = new Set<string>(CHECKER_CALLBACKS);
  for (const [index, name] of m.names.functions) {
    if (wanted.has(name) && index >= m.importedFuncCount) { out.push([name, index]); wanted.delete(name); }
  }
  return out;
}

/** What an Instrumented is made of, apart from the binary and the offset map (plain JSON). */
export interface InstrumentedMeta {
  importedFuncs: number;
  definedFuncs: number;
  hooks: HookName[];
  allocators: InstrumentedAllocator[];
  exports: Instrumented['exports'];
  callingContext: boolean;
  stats: Instrumented['stats'];
  warnings: string[];
}

/** An Instrumented as data, to keep on disk (runtime/prepare-cache.ts) and rebuild with fromParts. */
export interface InstrumentedParts {
  meta: InstrumentedMeta;
  binary: Uint8Array;
  map: OffsetMapData;
}

export function toParts(ins: Instrumented): InstrumentedParts {
  const p = (ins as Instrumented & { [PARTS]?: InstrumentedParts })[PARTS];
  if (!p) throw new Error('not an Instrumented made by instrument()');
  return p;
}

/** Rebuilds an Instrumented from toParts' data (validated: a corrupt cache entry throws). */
export function fromParts(parts: InstrumentedParts): Instrumented {
  return assemble(parts.binary as Uint8Array<ArrayBuffer>, OffsetMap.fromData(parts.map), parts.meta);
}

const PARTS = Symbol('parts');

function assemble(binary: Uint8Array<ArrayBuffer>, map: OffsetMap, meta: InstrumentedMeta): Instrumented {
  const I = meta.importedFuncs;
  const k = meta.hooks.length;
  const N = I + meta.definedFuncs;
  const withWrappers = meta.allocators;
  const out: Instrumented & { [PARTS]?: InstrumentedParts } = {
    binary,
    hookModule: HOOK_MODULE,
    hooks: meta.hooks,
    allocators: withWrappers,
    exports: meta.exports,
    callingContext: meta.callingContext,
    originalOffset: (off) => map.originalOffset(off),
    originalFunction: (idx) => {
      if (!(idx >= 0)) return -1;
      if (idx < I) return idx;
      if (idx < I + k) return -1;
      if (idx < N + k) return idx - k;
      return -1;
    },
    newFunction: (idx) => (idx < I ? idx : idx + k),
    wrapperOf: (idx) => (idx >= N + k ? withWrappers[idx - N - k] ?? null : null),
    contextOf: (path) => pccContextOf(path),
    stats: meta.stats,
    warnings: meta.warnings,
  };
  Object.defineProperty(out, PARTS, { value: { meta, binary, map: map.toData() }, enumerable: false });
  return out;
}
