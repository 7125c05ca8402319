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
 * (memset). Anything ambiguous (several candidates) is left alone: the rewriter's own search
 * result stands.
 *
 * Invariants: never throws; returns null when the module names its allocator (name section or
 * exports beyond malloc/free), i.e. when there is nothing to add.
 */
import { parseModule, callGraph, funcType, I32, KIND_FUNC, type WasmModule } from '../wasm/binary/index.js';

export function emscriptenAllocators(bytes: Uint8Array): Record<string, number> | null {
  let m: WasmModule;
  try {
    m = parseModule(bytes);
  } catch {
    return null;
  }
  if (m.names && m.names.functions && m.names.functions.size > 0) return null;
  const exp = (name: string) => m.exports.find((e) => e.kind === KIND_FUNC && e.name === name)?.index;
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
  for (let f = m.importedFuncCount; f < g.count; f++) {
    if (f === malloc || f === free || !isPairToOne(f)) continue;
    const callees: Set<number> = new Set(Array.from(g.callees.subarray(g.offsets[f]!, g.offsets[f + 1]!)));
    if (callees.has(malloc) && callees.has(free)) realloc.push(f);
    else if (callees.has(malloc) && callees.size === 2) calloc.push(f);
  }
  const out: Record<string, number> = { malloc, free };
  if (realloc.length === 1) out.realloc = realloc[0]!;
  if (calloc.length === 1) out.calloc = calloc[0]!;
  return Object.keys(out).length > 2 ? out : null;
}
