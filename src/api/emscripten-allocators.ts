/**
 * Allocator entry points of Emscripten release-style binaries: no name section, no DWARF, and
 * only `malloc` and `free` exported (sql.js's sql-wasm-debug.wasm is one). sqlite reallocates
 * through realloc and zeroes through calloc; if those are not wrapped, a block that realloc
 * grows in place keeps its old size in the object table (references into the new part count for
 * nothing) and blocks calloc hands out directly are invisible.
 *
 * Rule (dlmalloc and emmalloc, as Emscripten links them): with malloc M and free F known from
 * the exports, realloc is the one function of type (i32, i32) -> i32 that calls both M and F
 * directly; calloc is the one function of that type that calls M, not F, and one other function
 * (memset); both within 16 function indices of M or F (same translation unit). Anything
 * ambiguous (several candidates) is left alone. Optimized builds may inline realloc into its
 * caller (sql.js's release build does): then only malloc and free are wrapped, and a block that
 * grows in place keeps its first size in the object table.
 *
 * Minified builds (exports `Ia`, `Ja`): the glue's names (emscripten-glue.ts) say which export is
 * malloc and which is free; the entry points are then given by function index.
 *
 * Invariants: never throws; returns null when the module names its allocator (name section or
 * exports beyond malloc/free) or when malloc/free cannot be found, i.e. when there is nothing to add.
 */
import { parseModule, callGraph, funcType, I32, KIND_FUNC, type WasmModule } from '../wasm/binary/index.js';

const NEAR = 16;

export function emscriptenAllocators(bytes: Uint8Array, aliases?: ReadonlyMap<string, string>): Record<string, number> | null {
  let m: WasmModule;
  try {
    m = parseModule(bytes);
  } catch {
    return null;
  }
  if (m.names && m.names.functions && m.names.functions.size > 0) return null;
  // An export answers to its own name or, when the glue maps a minified one, to the real name.
  const real = (e: { name: string }) => aliases?.get(e.name) ?? e.name;
  const exp = (name: string) => m.exports.find((e) => e.kind === KIND_FUNC && real(e) === name)?.index;
  const malloc = exp('malloc');
  const free = exp('free');
  if (malloc === undefined || free === undefined) return null;
  if (exp('realloc') !== undefined || exp('calloc') !== undefined) return null;
  const g = callGraph(m);
  const isPairToOne = (f: number) => {
    const t = funcType(m, f);
    return !!t && t.params.length === 2 && t.params.every((p) => p === I32) && t.results.length === 1 && t.results[0] === I32;
  };
  const realloc: number[] = [];
  const calloc: number[] = [];
  // dlmalloc.c and emmalloc.c are one translation unit each: their functions sit together in
  // the function index space. A far-away function calling malloc and free is program code (or
  // an optimizer's inlined copy), never the allocator's realloc.
  const near = (f: number) => Math.min(Math.abs(f - malloc), Math.abs(f - free)) <= NEAR;
  // An exported function has its own name (emscripten_builtin_memalign): it is not the unnamed one.
  const exported = new Set(m.exports.filter((e) => e.kind === KIND_FUNC).map((e) => e.index));
  for (let f = m.importedFuncCount; f < g.count; f++) {
    if (f === malloc || f === free || exported.has(f) || !near(f) || !isPairToOne(f)) continue;
    const callees: Set<number> = new Set(Array.from(g.callees.subarray(g.offsets[f]!, g.offsets[f + 1]!)));
    if (callees.has(malloc) && callees.has(free)) realloc.push(f);
    else if (callees.has(malloc) && callees.size === 2) calloc.push(f);
  }
  const out: Record<string, number> = { malloc, free };
  if (realloc.length === 1) out.realloc = realloc[0]!;
  if (calloc.length === 1) out.calloc = calloc[0]!;
  const minified = m.exports.some((e) => e.kind === KIND_FUNC && (e.name === 'malloc' || e.name === 'free')) === false;
  return Object.keys(out).length > 2 || minified ? out : null;
}
