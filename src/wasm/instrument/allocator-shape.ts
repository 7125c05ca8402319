/**
 * Finds wasi-libc's dlmalloc entry points (malloc, free, calloc, realloc, aligned_alloc,
 * posix_memalign) from code structure
 * alone, for release builds that kept no names (no name section, DWARF code addresses zeroed,
 * allocator not exported).
 *
 * Why: users of stripped builds cannot know function indices for --allocator. wasi-libc's
 * allocator has a recognisable shape: a small sbrk (memory.size + memory.grow), one large
 * dlmalloc calling it and naming a cluster of static malloc_state fields, one large dlfree
 * naming the same fields, and thin one-call wrappers `malloc(n) = dlmalloc(n)`,
 * `free(p) = dlfree(p)`; calloc multiplies with an overflow check (a mul and a 64 Ki test) and calls
 * dlmalloc and memset; realloc calls dlmalloc, dlfree and memcpy and touches the state;
 * aligned_alloc and posix_memalign call dlmalloc and dlmalloc's internal_memalign only.
 *
 * Emscripten's dlmalloc (the same dlmalloc.c, built as Emscripten 3.1 links it) is the second
 * flavour, tried when the first finds nothing: its sbrk reads the memory size (memory.size, or a
 * tiny emscripten_get_heap_size) but grows it through emscripten_resize_heap (an import, a tiny
 * function, or nothing when growth is off), and malloc, free, realloc are aliases of dlmalloc,
 * dlfree, dlrealloc (no wrappers: the entry points are those functions themselves; a smaller
 * dlrealloc, which calls try_realloc_chunk instead of inlining it). Both malloc and free must be
 * certain for it.
 *
 * One-step optimised builds (clang -O2 with wasm-opt on PATH) inline the one-call wrappers, and
 * often realloc, aligned_alloc and posix_memalign, into the program, which then calls dlmalloc,
 * dlfree and internal_memalign itself: whichever of those is called by code that is no entry
 * point found is wrapped itself (a realloc inlined so is seen as its dlmalloc and dlfree; one that
 * resizes in place is not seen, and the block keeps its first size).
 *
 * Invariant (conservative): a wrong answer wraps a function that is not malloc and corrupts the
 * run, so every entry needs several independent pieces of evidence and every candidate set must
 * have exactly one member; any doubt returns fewer entries (none when dlmalloc itself is not
 * certain). A wrapper that is not linked (the program never calls malloc) is simply absent.
 * Function indices are original indices (imports first).
 */
import {
  type WasmModule, type CallGraph, I32, funcType, memory0, walkInstructions, reachable,
} from '../binary/index.js';

/** wasi-libc's dlmalloc (wrappers around a static dlmalloc) or Emscripten's (aliases). */
export type ShapeFlavour = 'wasi-libc' | 'emscripten';

export interface ShapeMatch {
  flavour: ShapeFlavour;
  /** Null when the program never calls malloc (only calloc, say): the wrapper is not linked. */
  malloc: number | null;
  free: number | null;
  calloc: number | null;
  realloc: number | null;
  aligned_alloc: number | null;
  posix_memalign: number | null;
  /**
   * dlmalloc's internal_memalign as an entry point (wrapped as memalign, size its 2nd parameter):
   * only when the program calls it itself (aligned_alloc or posix_memalign inlined), else null.
   */
  memalignEntry: number | null;
  /** Evidence, for --verbose and tests: the internal functions the entries rest on. */
  sbrk: number;
  dlmalloc: number;
  dlfree: number | null;
  /** dlmalloc's internal_memalign, which aligned_alloc and posix_memalign share. */
  memalign: number | null;
}

/** sbrk is tiny; dlmalloc/dlfree are thousands of bytes (6-7 KB and 1.6-1.8 KB in wasi-libc). */
const SBRK_MAX_BYTES = 256;
const DLMALLOC_MIN_BYTES = 2000;
const DLFREE_MIN_BYTES = 800;
const CALLOC_MAX_BYTES = 512;
const REALLOC_MIN_BYTES = 200;
/** Emscripten's dlrealloc calls try_realloc_chunk instead of inlining it (129-136 bytes). */
const EMSCRIPTEN_REALLOC_MIN_BYTES = 64;
/** emscripten_get_heap_size: `memory.size; i32.const 16; i32.shl` (7 bytes). */
const HEAP_SIZE_HELPER_MAX_BYTES = 16;
const ALIGNED_ALLOC_MAX_BYTES = 64;
const POSIX_MEMALIGN_MAX_BYTES = 256;
/** malloc_state is ~470 bytes on wasm32; its fields are touched as one cluster. */
const STATE_SPAN = 1024;
const STATE_MIN_FIELDS = 8;
const SHARED_MIN_FIELDS = 6;

interface BodyFacts {
  bytes: number;
  memSize: boolean;
  memGrow: boolean;
  mul: boolean;
  /** i32.const 65536 or -65536: calloc's cheap "both factors below 64 Ki" overflow test. */
  k64: boolean;
  /**
   * Static addresses the code names: memarg offsets and i32.const values inside the static
   * range. Both count because wasm-opt rewrites `i32.const 0 ... store offset=A` into
   * `i32.const A ... store offset=0` with the value computed in between.
   */
  addrs: Set<number>;
  /** Direct callees, in order. */
  calls: number[];
  /** `local.get 0; call X; end` (X), else -1. */
  wrapperOf: number;
  indirect: boolean;
}

function bodyFacts(m: WasmModule, f: number, lo: number, hi: number): BodyFacts | null {
  const b = m.bodies[f - m.importedFuncCount];
  if (!b) return null;
  const facts: BodyFacts = {
    bytes: b.end - b.bodyStart, memSize: false, memGrow: false, mul: false, k64: false, addrs: new Set(), calls: [],
    wrapperOf: -1, indirect: false,
  };
  const ops: number[] = [];
  let callee = -1;
  let firstLocal = -1;
  walkInstructions(m.bytes, b.codeStart, b.end, (ins) => {
    const op = ins.op;
    if (ops.length < 4) {
      ops.push(op);
      if (ops.length === 1 && op === 0x20) firstLocal = ins.index;
      if (ops.length === 2 && op === 0x10) callee = ins.index;
    }
    if (op === 0x3f) facts.memSize = true;
    else if (op === 0x40) facts.memGrow = true;
    else if (op === 0x6c || op === 0x7e) facts.mul = true;
    else if (op === 0x41) {
      const c = ins.i32 >>> 0;
      if (c === 65536 || c === 0xffff0000) facts.k64 = true;
      if (c >= lo && c < hi) facts.addrs.add(c);
    }
    else if (op === 0x10 || op === 0x12) facts.calls.push(ins.index);
    else if (op === 0x11 || op === 0x13 || op === 0x14 || op === 0x15) facts.indirect = true;
    if (ins.hasMemArg && ins.memOffset >= lo && ins.memOffset < hi) facts.addrs.add(ins.memOffset);
  });
  // A wrapper has no locals beyond its parameter: local declarations are one zero byte.
  if (ops.length === 3 && ops[0] === 0x20 && firstLocal === 0 && ops[1] === 0x10 && ops[2] === 0x0b &&
    b.codeStart - b.bodyStart === 1) facts.wrapperOf = callee;
  return facts;
}

function isType(m: WasmModule, f: number, params: number, results: number): boolean {
  const t = funcType(m, f);
  if (!t || t.params.length !== params || t.results.length !== results) return false;
  return t.params.every((p) => p === I32) && t.results.every((r) => r === I32);
}

/** The single member of `xs`, or null when there are none or several. */
function only(xs: number[]): number | null {
  return xs.length === 1 ? xs[0]! : null;
}

/** The densest window of STATE_SPAN bytes: addresses inside it. */
function stateCluster(addrs: Set<number>): Set<number> {
  const sorted = [...addrs].sort((a, b) => a - b);
  let best: number[] = [];
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! >= STATE_SPAN) lo++;
    if (hi - lo + 1 > best.length) best = sorted.slice(lo, hi + 1);
  }
  return new Set(best);
}

function overlap(a: Set<number>, b: Set<number>): number {
  let n = 0;
  for (const x of a) if (b.has(x)) n++;
  return n;
}

/** The static data's lowest address: struct-field offsets below it are not addresses. */
function staticLow(m: WasmModule): number {
  let lo = Infinity;
  for (const d of m.data) {
    if (d.mode === 'active' && d.offset?.value.kind === 'i32') lo = Math.min(lo, d.offset.value.value >>> 0);
  }
  return Number.isFinite(lo) ? Math.max(lo, 1024) : 1024;
}

/**
 * The dlmalloc entry points of `m`, or null when the module does not carry wasi-libc's or
 * Emscripten's allocator with certainty. `g` is the module's direct-call graph.
 */
export function findAllocatorsByShape(m: WasmModule, g: CallGraph, why?: ShapeRefusal): ShapeMatch | null {
  return matchDlmalloc(m, g, 'wasi-libc', why) ?? matchDlmalloc(m, g, 'emscripten', why);
}

/** Filled in when dlmalloc was recognised but cannot be tracked: the reason, for the user. */
export interface ShapeRefusal { reason?: string }

export const FREE_INLINED = "wasi-libc's dlmalloc was recognised by its code, but its free was inlined into the program " +
  '(a one-step optimised link inlines a function called from one place), so frees cannot be seen and every freed block ' +
  'would be reported; compile and link in two steps (clang -O2 -g -c x.c; clang -g x.o -o x.wasm)';

/** Some function that is no part of the allocator names dlfree's share of its state (see step 9). */
function freeInlined(fx: (f: number) => BodyFacts | null, funcs: number[], state: Set<number>, own: Set<number>): boolean {
  const callers = (t: number): number[] => funcs.filter((c) => c !== t && fx(c)!.calls.includes(t));
  return funcs.some((f) => {
    if (own.has(f) || overlap(fx(f)!.addrs, state) < SHARED_MIN_FIELDS) return false;
    const by = callers(f);
    return !(by.length > 0 && by.every((c) => own.has(c)));
  });
}

function matchDlmalloc(m: WasmModule, g: CallGraph, flavour: ShapeFlavour, why?: ShapeRefusal): ShapeMatch | null {
  const mem = memory0(m);
  if (!mem || mem.memory64 || m.bodies.length === 0) return null;
  const I = m.importedFuncCount;
  const n = I + m.bodies.length;
  const hi = Math.min(mem.min * 65536, 0x1_0000_0000);
  const lo = staticLow(m);
  if (lo >= hi) return null;
  const facts: Array<BodyFacts | null> = new Array(n).fill(null);
  for (let f = I; f < n; f++) facts[f] = bodyFacts(m, f, lo, hi);
  const fx = (f: number): BodyFacts | null => facts[f] ?? null;

  // 1. sbrk: the one small (i32)->i32 function that both reads and grows the memory (wasi-libc),
  //    or reads its size, itself or through a tiny ()->i32 helper (Emscripten).
  const heapSizeHelper = (c: number): boolean => {
    const x = fx(c);
    return !!x && x.memSize && x.bytes <= HEAP_SIZE_HELPER_MAX_BYTES && isType(m, c, 0, 1) && x.calls.length === 0;
  };
  const sbrk = only(range(I, n).filter((f) => {
    const x = fx(f)!;
    if (x.bytes > SBRK_MAX_BYTES || !isType(m, f, 1, 1) || x.indirect) return false;
    return flavour === 'wasi-libc' ? x.memSize && x.memGrow : x.memSize || x.calls.some(heapSizeHelper);
  }));
  if (sbrk === null) return null;

  // 2. dlmalloc: the one large (i32)->i32 function calling sbrk directly and naming a cluster
  //    of static state fields.
  const dlmallocs = range(I, n).filter((f) => {
    const x = fx(f)!;
    return f !== sbrk && x.bytes >= DLMALLOC_MIN_BYTES && isType(m, f, 1, 1) && x.calls.includes(sbrk) && !x.indirect;
  });
  const dlmalloc = only(dlmallocs);
  if (dlmalloc === null) return null;
  const state = stateCluster(fx(dlmalloc)!.addrs);
  if (state.size < STATE_MIN_FIELDS) return null;

  // 3. malloc: the one thin wrapper `(i32)->i32 = dlmalloc(param 0)`. Nothing else may call sbrk
  //    (a second allocator would make "the" heap ambiguous).
  const sbrkCallers = range(I, n).filter((f) => fx(f)!.calls.includes(sbrk));
  if (sbrkCallers.length !== 1) return null;
  const wrappers = range(I, n).filter((f) => fx(f)!.wrapperOf === dlmalloc && isType(m, f, 1, 1));
  if (wrappers.length > 1) return null;
  // Emscripten's malloc is dlmalloc itself: a wrapper means this is not its shape.
  if (flavour === 'emscripten' && wrappers.length) return null;
  let malloc = flavour === 'emscripten' ? dlmalloc : only(wrappers);

  // 4. dlfree: the one large (i32)->() function that cannot reach sbrk and names the same state.
  const dlfree = only(range(I, n).filter((f) => {
    const x = fx(f)!;
    if (x.bytes < DLFREE_MIN_BYTES || !isType(m, f, 1, 0) || x.indirect) return false;
    if (overlap(x.addrs, state) < SHARED_MIN_FIELDS) return false;
    return !reachable(g, [f])[sbrk];
  }));
  const freeWrappers = dlfree === null ? [] : range(I, n).filter((f) => fx(f)!.wrapperOf === dlfree && isType(m, f, 1, 0));
  if (flavour === 'emscripten' && (dlfree === null || freeWrappers.length)) return null;
  let free = flavour === 'emscripten' ? dlfree : only(freeWrappers);

  // 5. calloc: (i32,i32)->i32, small, overflow-checked multiply (a mul and the 64 Ki test),
  //    calls dlmalloc (or malloc) once and otherwise only a memset-shaped (i32,i32,i32)->i32 function.
  const calloc = only(range(I, n).filter((f) => {
    const x = fx(f)!;
    if (f === dlmalloc || x.bytes > CALLOC_MAX_BYTES || !isType(m, f, 2, 1) || x.indirect) return false;
    if (!x.mul || !x.k64) return false;
    const allocCalls = x.calls.filter((c) => c === dlmalloc || c === malloc).length;
    if (allocCalls !== 1) return false;
    return x.calls.every((c) => c === dlmalloc || c === malloc || (isType(m, c, 3, 1) && !reachable(g, [c])[sbrk]));
  }));

  // 6. realloc: (i32,i32)->i32 calling dlmalloc (or malloc), dlfree (or free) and a
  //    memcpy-shaped function, and touching the allocator's state itself.
  const realloc = dlfree === null ? null : only(range(I, n).filter((f) => {
    const x = fx(f)!;
    const minBytes = flavour === 'emscripten' ? EMSCRIPTEN_REALLOC_MIN_BYTES : REALLOC_MIN_BYTES;
    if (f === dlmalloc || x.bytes < minBytes || !isType(m, f, 2, 1) || x.indirect) return false;
    if (!x.calls.some((c) => c === dlmalloc || c === malloc)) return false;
    if (!x.calls.some((c) => c === dlfree || c === free)) return false;
    // Emscripten's dlrealloc leaves the state to try_realloc_chunk, an (i32,i32)->i32 it calls.
    const viaChunk = flavour === 'emscripten' && x.calls.some((c) => c !== dlmalloc && isType(m, c, 2, 1) &&
      !!fx(c) && overlap(fx(c)!.addrs, state) >= SHARED_MIN_FIELDS);
    if (overlap(x.addrs, state) < 1 && !viaChunk) return false;
    return x.calls.some((c) => c !== dlmalloc && c !== malloc && isType(m, c, 3, 1) && !reachable(g, [c])[sbrk]);
  }));

  // 7. internal_memalign: (i32,i32)->i32 calling dlmalloc and naming the state; it is what
  //    aligned_alloc (tiny: dlmalloc for small alignments, else this) and posix_memalign
  //    ((i32,i32,i32)->i32: both calls, nothing else) are made of. Its identity rests on them:
  //    both must agree when both are linked.
  const isMemalign = (c: number): boolean => c !== dlmalloc && c !== calloc && c !== realloc && c !== malloc &&
    isType(m, c, 2, 1) && !!fx(c) && fx(c)!.calls.includes(dlmalloc) && overlap(fx(c)!.addrs, state) >= 1;
  /** [f, its internal_memalign] for each small (i32 x params)->i32 f calling just dlmalloc and it. */
  const memalignCallers = (maxBytes: number, params: number) => range(I, n).map((f) => {
    const x = fx(f)!;
    if (x.bytes > maxBytes || !isType(m, f, params, 1) || x.indirect) return null;
    const distinct = [...new Set(x.calls)];
    if (distinct.length !== 2 || !distinct.includes(dlmalloc)) return null;
    const other = distinct.find((c) => c !== dlmalloc)!;
    return isMemalign(other) ? [f, other] as const : null;
  }).filter((x) => x !== null);
  const alignedCandidates = memalignCallers(ALIGNED_ALLOC_MAX_BYTES, 2);
  const posixCandidates = memalignCallers(POSIX_MEMALIGN_MAX_BYTES, 3);
  let aligned_alloc = alignedCandidates.length === 1 ? alignedCandidates[0]![0] : null;
  let posix_memalign = posixCandidates.length === 1 ? posixCandidates[0]![0] : null;
  let memalign = alignedCandidates.length === 1 ? alignedCandidates[0]![1]
    : posixCandidates.length === 1 ? posixCandidates[0]![1] : null;
  const disagree = alignedCandidates.length === 1 && posixCandidates.length === 1 &&
    alignedCandidates[0]![1] !== posixCandidates[0]![1];
  if (disagree) {
    aligned_alloc = null;
    posix_memalign = null;
    memalign = null;
  }

  // 8. One-step optimised builds (clang -O2 with wasm-opt on PATH) inline the one-call wrappers,
  //    and aligned_alloc/posix_memalign, into their callers, which then call dlmalloc, dlfree and
  //    internal_memalign themselves: those calls are the program's allocations. Whichever of them
  //    code other than the entry points found above calls is wrapped itself (the wrappers'
  //    nesting depth hides the calls the entry points make to it).
  const entries = new Set([malloc, free, calloc, realloc, aligned_alloc, posix_memalign, memalign].filter((x): x is number => x !== null));
  const calledElsewhere = (target: number): boolean =>
    range(I, n).some((f) => f !== target && !entries.has(f) && fx(f)!.calls.includes(target));
  if (calledElsewhere(dlmalloc)) malloc = dlmalloc;
  if (dlfree !== null && calledElsewhere(dlfree)) free = dlfree;
  const internalMemalign = memalign ?? inlinedMemalign(m, g, fx, range(I, n), { sbrk, dlmalloc, dlfree, state, entries });
  const memalignEntry = internalMemalign !== null && calledElsewhere(internalMemalign) ? internalMemalign : null;
  if (memalignEntry !== null) memalign = memalignEntry;

  // 9. wasm-opt inlines a function called from one place whatever its size: a program with one
  //    free() call site keeps no dlfree, its body sits in the program, and no free can be seen
  //    (every freed block would be reported). Program code naming the allocator's state like
  //    dlfree (not a helper only the allocator calls, as dispose_chunk) means that: refuse.
  if (free === null && freeInlined(fx, range(I, n), state,
    new Set([sbrk, dlmalloc, dlfree, calloc, realloc, aligned_alloc, posix_memalign, memalign, internalMemalign].filter((x): x is number => x !== null)))) {
    if (why) why.reason = FREE_INLINED;
    return null;
  }

  const allocating = [malloc, calloc, realloc, aligned_alloc, posix_memalign, memalignEntry].filter((x): x is number => x !== null);
  const picked = free === null ? allocating : [...allocating, free];
  // Something that allocates must be certain, and no function may play two parts.
  if (!allocating.length) return null;
  if (new Set(picked).size !== picked.length) return null;
  return { flavour, malloc, free, calloc, realloc, aligned_alloc, posix_memalign, memalignEntry, sbrk, dlmalloc, dlfree, memalign };
}

/**
 * dlmalloc's internal_memalign when nothing above named it (aligned_alloc and posix_memalign were
 * inlined into the program): the one (i32,i32)->i32 function that is no entry point, calls
 * dlmalloc, names the allocator's state, and otherwise calls only (i32,i32)->() functions that
 * name the state and cannot reach sbrk (dispose_chunk, which gives back the leading and trailing
 * space) - never dlfree or a memcpy, as realloc does. Null unless exactly one function fits.
 */
function inlinedMemalign(m: WasmModule, g: CallGraph, fx: (f: number) => BodyFacts | null, funcs: number[],
  known: { sbrk: number; dlmalloc: number; dlfree: number | null; state: Set<number>; entries: Set<number> }): number | null {
  const disposes = (c: number): boolean => {
    const x = fx(c);
    return !!x && c !== known.dlfree && isType(m, c, 2, 0) && overlap(x.addrs, known.state) >= SHARED_MIN_FIELDS &&
      !reachable(g, [c])[known.sbrk];
  };
  return only(funcs.filter((f) => {
    const x = fx(f)!;
    if (f === known.dlmalloc || known.entries.has(f) || !isType(m, f, 2, 1) || x.indirect) return false;
    if (overlap(x.addrs, known.state) < 1) return false;
    const distinct = [...new Set(x.calls)];
    return distinct.includes(known.dlmalloc) && distinct.length >= 2 &&
      distinct.every((c) => c === known.dlmalloc || disposes(c));
  }));
}

function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i < b; i++) out.push(i);
  return out;
}
