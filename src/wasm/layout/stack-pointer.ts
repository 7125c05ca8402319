/**
 * Finding the shadow-stack pointer global.
 *
 * Why: the live shadow stack (stack pointer .. stack top) is a root, the stack pointer's initial
 * value is the stack top and tells the wasm-ld layout (stack-first or not), and the rewriter
 * exports the global so the runtime can read it. Both the rewriter and the layout use this one
 * rule so they always agree on which global it is.
 *
 * Rule: the global named `__stack_pointer` (name section, or an import of that name); else the
 * first mutable i32 global whose initializer is an i32.const inside the initial memory (wasm-ld
 * emits the stack pointer as global 0 that way).
 */
import { type WasmModule, I32, KIND_GLOBAL, memory0 } from '../binary/index.js';

export interface StackPointer {
  /** Global index (imports first). */
  global: number;
  /** Initial value (the stack top), or null when the global is imported. */
  initial: number | null;
  source: 'name' | 'import' | 'heuristic';
}

const PAGE = 65536;

export function findStackPointer(m: WasmModule): StackPointer | null {
  const named = m.names?.globals;
  if (named) {
    for (const [idx, name] of named) {
      if (name !== '__stack_pointer') continue;
      const local = m.globals[idx - m.importedGlobalCount];
      if (local && local.type.valType === I32 && local.type.mutable) {
        const v = local.init.value;
        return { global: idx, initial: v.kind === 'i32' ? v.value >>> 0 : null, source: 'name' };
      }
      if (idx < m.importedGlobalCount) return { global: idx, initial: null, source: 'name' };
    }
  }
  let gi = 0;
  for (const imp of m.imports) {
    if (imp.kind !== KIND_GLOBAL) continue;
    if (imp.name === '__stack_pointer' && imp.global?.mutable) return { global: gi, initial: null, source: 'import' };
    gi++;
  }
  const mem = memory0(m);
  const limit = mem ? mem.min * PAGE : 0;
  for (const g of m.globals) {
    if (g.type.valType !== I32 || !g.type.mutable) continue;
    const v = g.init.value;
    if (v.kind !== 'i32') continue;
    const u = v.value >>> 0;
    if (u > 0 && u <= limit) return { global: g.index, initial: u, source: 'heuristic' };
  }
  return null;
}
