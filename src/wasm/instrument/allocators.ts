/**
 * Which functions are the allocator's entry points, and what shape each has.
 *
 * Why: the rewriter wraps these (and nothing else) so every block the program gets from its
 * allocator is recorded once. The table below is the one place that knows C, C++ and Rust
 * allocation function names and which parameter holds the size, the old pointer or the
 * out-pointer.
 *
 * Lookup order (first source that names any allocator wins, per function name): an explicit
 * `opts.allocator` map (then nothing else is searched), the name section, DWARF subprograms (for
 * binaries whose name section was stripped but whose debug info kept code addresses), the
 * exports, then dlmalloc's own names (dlmalloc, dlfree, ...: Emscripten's allocator, whose malloc
 * is an alias the name section does not show) when no C entry point has its own name, and last (only when none of those named anything) wasi-libc's dlmalloc recognised by
 * its code shape (allocator-shape.ts). C++ and Rust functions are wrapped only when they do not
 * reach a wrapped C allocator through direct calls (libc++'s operator new calls malloc: wrapping
 * malloc suffices).
 */
import {
  type WasmModule, type CallGraph, I32, KIND_FUNC, funcType, functionCount, reachable, WasmFormatError,
} from '../binary/index.js';
import { dwarfFunctionNames } from '../binary/dwarf.js';
import { findAllocatorsByShape, type ShapeRefusal } from './allocator-shape.js';

export type AllocShape =
  /** Returns the new block; size is param `size` (times param `count` when set). */
  | { kind: 'alloc'; size: number; count?: number }
  /** Releases param `ptr`. */
  | { kind: 'free'; ptr: number }
  /** Resizes param `ptr` to param `size`, returns the new block (0 on failure). */
  | { kind: 'realloc'; ptr: number; size: number }
  /** Stores the block at *param `out` and returns 0 on success. */
  | { kind: 'posix_memalign'; out: number; size: number };

export type AllocFamily = 'c' | 'cxx' | 'rust';

export interface AllocatorSpec {
  name: string;
  /** Other spellings: wasm-ld writes demangled C++ names into the name section. */
  aliases: string[];
  /**
   * dlmalloc's own name for a C entry point (dlmalloc, dlfree, ...). Emscripten's dlmalloc.c
   * defines malloc as an alias of dlmalloc, and the name section and DWARF call the one
   * function dlmalloc; wasi-libc's malloc is a wrapper calling a static dlmalloc. So a dl name
   * is used only when no C entry point is found under its own name (findAllocators).
   */
  dlName?: string;
  family: AllocFamily;
  shape: AllocShape;
  /** Expected parameter count (all i32 on wasm32). */
  params: number;
  returns: boolean;
}

const specs: AllocatorSpec[] = [];
/** C entry points that dlmalloc also defines under a `dl` prefix. */
const DL_NAMES = new Set(['malloc', 'calloc', 'realloc', 'free', 'memalign', 'posix_memalign', 'valloc', 'pvalloc']);

function add(family: AllocFamily, names: string[], shape: AllocShape, params: number, returns: boolean): void {
  for (const name of names) {
    specs.push({
      name, aliases: family === 'cxx' ? [demangleOperator(name)] : [], family, shape, params, returns,
      ...(family === 'c' && DL_NAMES.has(name) ? { dlName: `dl${name}` } : {}),
    });
  }
}

/**
 * The demangled spelling of the operator new/delete names below, as wasm-ld writes them into the
 * name section (and llvm-cxxfilt prints them), e.g. _ZnwmRKSt9nothrow_t ->
 * "operator new(unsigned long, std::nothrow_t const&)". Only this small grammar is handled.
 */
export function demangleOperator(mangled: string): string {
  const ops: Record<string, string> = { _Znw: 'operator new', _Zna: 'operator new[]', _Zdl: 'operator delete', _Zda: 'operator delete[]' };
  const parts: Array<[string, string]> = [['Pv', 'void*'], ['m', 'unsigned long'], ['j', 'unsigned int'],
    ['RKSt9nothrow_t', 'std::nothrow_t const&'], ['St11align_val_t', 'std::align_val_t']];
  const op = ops[mangled.slice(0, 4)];
  if (!op) return mangled;
  const params: string[] = [];
  let rest = mangled.slice(4);
  while (rest.length) {
    const hit = parts.find(([m]) => rest.startsWith(m));
    if (!hit) return mangled;
    params.push(hit[1]);
    rest = rest.slice(hit[0].length);
  }
  return `${op}(${params.join(', ')})`;
}

add('c', ['malloc', 'valloc', 'pvalloc'], { kind: 'alloc', size: 0 }, 1, true);
add('c', ['calloc'], { kind: 'alloc', size: 1, count: 0 }, 2, true);
// emscripten_builtin_memalign: dlmemalign as -pthread builds export it (thread stacks, TLS blocks).
add('c', ['aligned_alloc', 'memalign', 'emscripten_builtin_memalign'], { kind: 'alloc', size: 1 }, 2, true);
add('c', ['realloc'], { kind: 'realloc', ptr: 0, size: 1 }, 2, true);
add('c', ['free'], { kind: 'free', ptr: 0 }, 1, false);
add('c', ['posix_memalign'], { kind: 'posix_memalign', out: 0, size: 2 }, 3, true);
// C++ operator new/delete, for size_t = unsigned long (m) and unsigned int (j).
for (const z of ['m', 'j']) {
  add('cxx', [`_Znw${z}`, `_Zna${z}`], { kind: 'alloc', size: 0 }, 1, true);
  add('cxx', [`_Znw${z}RKSt9nothrow_t`, `_Zna${z}RKSt9nothrow_t`, `_Znw${z}St11align_val_t`,
    `_Zna${z}St11align_val_t`], { kind: 'alloc', size: 0 }, 2, true);
  add('cxx', [`_Znw${z}St11align_val_tRKSt9nothrow_t`, `_Zna${z}St11align_val_tRKSt9nothrow_t`],
    { kind: 'alloc', size: 0 }, 3, true);
  add('cxx', [`_ZdlPv${z}`, `_ZdaPv${z}`], { kind: 'free', ptr: 0 }, 2, false);
  add('cxx', [`_ZdlPv${z}St11align_val_t`, `_ZdaPv${z}St11align_val_t`], { kind: 'free', ptr: 0 }, 3, false);
}
add('cxx', ['_ZdlPv', '_ZdaPv'], { kind: 'free', ptr: 0 }, 1, false);
add('cxx', ['_ZdlPvRKSt9nothrow_t', '_ZdaPvRKSt9nothrow_t', '_ZdlPvSt11align_val_t', '_ZdaPvSt11align_val_t'],
  { kind: 'free', ptr: 0 }, 2, false);
add('cxx', ['_ZdlPvSt11align_val_tRKSt9nothrow_t', '_ZdaPvSt11align_val_tRKSt9nothrow_t'], { kind: 'free', ptr: 0 }, 3, false);
add('rust', ['__rust_alloc', '__rust_alloc_zeroed'], { kind: 'alloc', size: 0 }, 2, true);
add('rust', ['__rust_realloc'], { kind: 'realloc', ptr: 0, size: 3 }, 4, true);
add('rust', ['__rust_dealloc'], { kind: 'free', ptr: 0 }, 3, false);

export const ALLOCATOR_SPECS: readonly AllocatorSpec[] = specs;
const specByName = new Map(specs.map((s) => [s.name, s]));

export function allocatorSpec(name: string): AllocatorSpec | undefined {
  return specByName.get(name);
}

/** Where an entry point's identity came from. */
export type AllocatorSource = 'option' | 'name-section' | 'dwarf' | 'export' | 'shape';

export interface AllocatorEntry {
  /** The spec name (malloc, _Znwm, __rust_alloc, ...). */
  name: string;
  /** Original function index. */
  index: number;
  family: AllocFamily;
  shape: AllocShape;
  source: AllocatorSource;
}

/** `--allocator malloc=NAME,free=NAME`: spec name -> function name or index. */
export type AllocatorOption = Record<string, string | number>;

export class AllocatorNotFoundError extends WasmFormatError {
  constructor(message: string) {
    super(message);
    this.name = 'AllocatorNotFoundError';
  }
}

function readDwarfNamesAvailable(m: WasmModule): boolean {
  return dwarfFunctionNames(m).size > 0;
}

const HOW = 'name them with --allocator malloc=NAME,free=NAME (names or function indices)';

function typeMatches(m: WasmModule, f: number, spec: AllocatorSpec): boolean {
  const t = funcType(m, f);
  if (!t) return false;
  if (t.params.length !== spec.params) return false;
  if (!t.params.every((p) => p === I32)) return false;
  if (spec.returns) return t.results.length === 1 && t.results[0] === I32;
  return t.results.length === 0;
}

function describeType(m: WasmModule, f: number): string {
  const t = funcType(m, f);
  if (!t) return 'unknown';
  const v = (b: number): string => ({ 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64' } as Record<number, string>)[b] ?? 'ref';
  return `(${t.params.map(v).join(', ')}) -> (${t.results.map(v).join(', ')})`;
}

/** function name -> index maps from each source, built lazily. */
function nameIndex(m: WasmModule): Array<[AllocatorSource, Map<string, number>]> {
  const out: Array<[AllocatorSource, Map<string, number>]> = [];
  if (m.names && m.names.functions.size) {
    const byName = new Map<string, number>();
    for (const [idx, name] of m.names.functions) if (!byName.has(name)) byName.set(name, idx);
    out.push(['name-section', byName]);
  } else {
    const dwarf = dwarfFunctionNames(m);
    if (dwarf.size) out.push(['dwarf', dwarf]);
  }
  const exp = new Map<string, number>();
  for (const e of m.exports) if (e.kind === KIND_FUNC && !exp.has(e.name)) exp.set(e.name, e.index);
  out.push(['export', exp]);
  return out;
}

/**
 * Finds the allocator entry points. Throws AllocatorNotFoundError (one line, saying what was
 * tried and how to name them) when no allocating function is found, unless the module imports
 * the kmemleak annotations (its own allocator reports itself; the list may then be empty). A
 * program that never frees has no free linked in: that is not an error.
 */
export function findAllocators(m: WasmModule, g: CallGraph, option?: AllocatorOption): AllocatorEntry[] {
  const nFuncs = functionCount(m);
  const found: AllocatorEntry[] = [];
  const shapeRefusal: ShapeRefusal = {};
  const taken = new Set<number>();
  if (option && Object.keys(option).length) {
    const sources = nameIndex(m);
    for (const [key, value] of Object.entries(option)) {
      const spec = specByName.get(key) ?? specs.find((x) => x.aliases.includes(key));
      if (!spec) {
        throw new AllocatorNotFoundError(
          `unknown allocator kind '${key}' in --allocator (known: malloc, calloc, realloc, free, aligned_alloc, ` +
          `posix_memalign, memalign, _Znwm, _ZdlPv, __rust_alloc, ...)`);
      }
      let index: number | undefined;
      if (typeof value === 'number' || /^\d+$/.test(value)) {
        index = Number(value);
        if (index >= nFuncs) throw new AllocatorNotFoundError(`--allocator ${key}=${value}: no function with index ${index} (the module has ${nFuncs})`);
      } else {
        for (const [, map] of sources) {
          index = map.get(value);
          if (index !== undefined) break;
        }
        if (index === undefined) throw new AllocatorNotFoundError(`--allocator ${key}=${value}: no function named '${value}' in the name section, debug info or exports`);
      }
      if (!typeMatches(m, index, spec)) {
        throw new AllocatorNotFoundError(`--allocator ${key}=${value}: function ${index} has type ${describeType(m, index)}, ` +
          `expected ${spec.params} i32 parameter(s)${spec.returns ? ' and an i32 result' : ' and no result'}`);
      }
      if (taken.has(index)) continue;
      taken.add(index);
      found.push({ name: key, index, family: spec.family, shape: spec.shape, source: 'option' });
    }
  } else {
    const sources = nameIndex(m);
    for (const spec of specs) {
      for (const [source, map] of sources) {
        let index = map.get(spec.name);
        for (const alias of spec.aliases) if (index === undefined) index = map.get(alias);
        if (index === undefined) continue;
        if (!typeMatches(m, index, spec)) continue;
        if (!taken.has(index)) {
          taken.add(index);
          found.push({ name: spec.name, index, family: spec.family, shape: spec.shape, source });
        }
        break;
      }
    }
    // Emscripten's dlmalloc: malloc is an alias of dlmalloc, named dlmalloc (see dlName).
    if (!found.some((e) => e.family === 'c')) {
      for (const spec of specs) {
        if (!spec.dlName) continue;
        for (const [source, map] of sources) {
          const index = map.get(spec.dlName);
          if (index === undefined || !typeMatches(m, index, spec)) continue;
          if (!taken.has(index)) {
            taken.add(index);
            found.push({ name: spec.name, index, family: spec.family, shape: spec.shape, source });
          }
          break;
        }
      }
    }
    // C++/Rust entry points that reach a C allocator are covered by its wrapper.
    const c = found.filter((e) => e.family === 'c').map((e) => e.index);
    if (c.length) {
      const cSet = new Set(c);
      const keep = found.filter((e) => {
        if (e.family === 'c') return true;
        const seen = reachable(g, [e.index]);
        for (const ci of cSet) if (seen[ci]) return false;
        return true;
      });
      found.length = 0;
      found.push(...keep);
    }
    // Nothing named: a stripped release build may still carry wasi-libc's dlmalloc, recognisable
    // by its code (allocator-shape.ts; it answers only when certain).
    if (!found.length) {
      const byShape = findAllocatorsByShape(m, g, shapeRefusal);
      if (byShape) {
        const byName = new Map<string, number | null>([['malloc', byShape.malloc], ['free', byShape.free],
          ['calloc', byShape.calloc], ['realloc', byShape.realloc], ['aligned_alloc', byShape.aligned_alloc],
          ['posix_memalign', byShape.posix_memalign], ['memalign', byShape.memalignEntry]]);
        for (const spec of specs) {
          const index = byName.get(spec.name);
          if (index === undefined || index === null || !typeMatches(m, index, spec)) continue;
          found.push({ name: spec.name, index, family: spec.family, shape: spec.shape, source: 'shape' });
        }
      }
    }
  }
  const allocs = found.filter((e) => e.shape.kind !== 'free');
  const tried = 'malloc, calloc, realloc, free, aligned_alloc, posix_memalign, memalign, C++ operator new/delete, ' +
    '__rust_alloc/__rust_dealloc';
  // A program that annotates its own allocator (imports from "kmemleak") needs no wrapped one.
  const annotated = m.imports.some((i) => i.module === 'kmemleak' && i.kind === KIND_FUNC);
  if (!allocs.length && !annotated) {
    const where = m.names?.functions.size ? 'the name section and the exports'
      : readDwarfNamesAvailable(m) ? 'the debug info and the exports (the module has no name section)'
        : 'the exports (the module has no name section and no usable debug info)';
    if (shapeRefusal.reason) throw new AllocatorNotFoundError(`no allocator tracked: ${shapeRefusal.reason}`);
    throw new AllocatorNotFoundError(`no allocator found: looked for ${tried} in ${where}; ${HOW}`);
  }
  return found;
}
