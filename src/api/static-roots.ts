/**
 * The static roots of an instance for the embedding API: the writable static data (.data and
 * .bss) minus the allocator's private state. src/wasm/layout's staticLayout() decides this for
 * modules whose data sits at fixed addresses; this file adds what only an instance knows:
 *
 * - Relocatable modules (Emscripten MAIN_MODULE/SIDE_MODULE, `dylink.0`): data is placed at
 *   `__memory_base`, a global the glue imports, often by passive segments; static data is
 *   [memory base, memory base + the dylink.0 memory size), which includes .bss.
 * - Modules with only .bss (no data segment at all): static data starts at wasm-ld's global base
 *   (1024) and ends where the stack's region begins (stack top - stack size).
 * - Emscripten's stack region [emscripten_stack_get_end(), emscripten_stack_get_base()) can be far
 *   bigger than the 64 KiB the layout assumes (sql.js uses 5 MiB); when the module exports those
 *   functions, the region is taken out of the static roots at each scan (only its live part,
 *   from the stack pointer up, is a root, and only with stack=on).
 *
 * Invariants: never throws (unreadable layouts give fewer roots and a note); ranges are sorted,
 * non-overlapping and non-empty.
 */
import { parseModule, type WasmModule } from '../wasm/binary/index.js';
import { staticLayout, type Layout } from '../wasm/layout/index.js';
import { subtractRanges } from '../wasm/runtime/roots.js';

export const DEFAULT_STACK_SIZE = 64 * 1024;
/** wasm-ld's default --global-base: static data starts there when the stack is not first. */
const GLOBAL_BASE = 1024;

export interface ApiLayout {
  ranges: Array<[number, number]>;
  /** The stack pointer's initial value when it is a constant; null when imported. */
  stackTop: number | null;
  notes: string[];
}

function readLeb(b: Uint8Array, pos: { p: number }): number {
  let r = 0;
  let shift = 0;
  for (;;) {
    const x = b[pos.p++]!;
    r += (x & 0x7f) * 2 ** shift;
    if ((x & 0x80) === 0) return r;
    shift += 7;
    if (shift > 35) throw new Error('bad LEB');
  }
}

/** dylink.0's memory size (static data + bss), or null when the module is not relocatable. */
export function dylinkMemSize(bytes: Uint8Array, m: WasmModule): number | null {
  for (const s of m.customs) {
    if (s.name !== 'dylink.0') continue;
    const pos = { p: s.contentStart };
    try {
      const nameLen = readLeb(bytes, pos); // the section's name (read before adding: pos moves)
      pos.p += nameLen;
      while (pos.p < s.end) {
        const kind = bytes[pos.p++]!;
        const len = readLeb(bytes, pos);
        if (kind === 1) return readLeb(bytes, pos); // WASM_DYLINK_MEM_INFO starts with memorysize
        pos.p += len;
      }
    } catch {
      return null;
    }
  }
  return null;
}

function importedValue(imports: WebAssembly.Imports, module: string, name: string): number | null {
  const v = (imports as Record<string, Record<string, unknown>>)[module]?.[name];
  if (v instanceof WebAssembly.Global) return Number(v.value) >>> 0;
  if (typeof v === 'number') return v >>> 0;
  return null;
}

/** Static roots for `bytes` instantiated with `imports`. */
export function apiStaticRoots(
  bytes: Uint8Array,
  imports: WebAssembly.Imports,
  allocatorEntries: number[],
  stackSize = DEFAULT_STACK_SIZE,
): ApiLayout {
  let m: WasmModule;
  let layout: Layout;
  try {
    m = parseModule(bytes);
    layout = staticLayout(m, { allocatorEntries, stackSize });
  } catch (e) {
    return { ranges: [], stackTop: null, notes: [`cannot read the module's data layout (${(e as Error).message})`] };
  }
  const notes: string[] = [];
  const privateRanges = layout.allocatorPrivate.map((r) => [r.start, r.end] as const);
  const memSize = dylinkMemSize(bytes, m);
  const baseImport = m.imports.find((i) => i.kind === 3 && i.name === '__memory_base');
  if (memSize !== null && baseImport) {
    const base = importedValue(imports, baseImport.module, baseImport.name);
    if (base === null) {
      notes.push('relocatable module without a readable __memory_base import: static data not scanned');
      return { ranges: [], stackTop: null, notes };
    }
    // Allocator state found in a relocatable module is relative to its memory base.
    const shifted = privateRanges.map(([s, e]) => [s + base, e + base] as const);
    return { ranges: subtractRanges([base, base + memSize], shifted), stackTop: layout.stackTop, notes };
  }
  if (layout.roots.length > 0) {
    return { ranges: layout.roots.filter((r) => r.end > r.start).map((r) => [r.start, r.end]), stackTop: layout.stackTop, notes };
  }
  const top = layout.stackTop;
  if (!layout.stackFirst && top !== null && top - stackSize > GLOBAL_BASE && m.data.every((d) => d.mode !== 'active')) {
    return { ranges: subtractRanges([GLOBAL_BASE, top - stackSize], privateRanges), stackTop: top, notes };
  }
  return { ranges: [], stackTop: top, notes };
}

/** Emscripten's stack bounds from its exports, read lazily (they are set by the glue's init). */
export function emscriptenStack(exports: WebAssembly.Exports): (() => [number, number] | null) | null {
  const ex = exports as Record<string, unknown>;
  const end = ex['emscripten_stack_get_end'];
  const base = ex['emscripten_stack_get_base'];
  if (typeof end !== 'function' || typeof base !== 'function') return null;
  let cached: [number, number] | null = null;
  return () => {
    if (cached) return cached;
    const lo = Number((end as () => number)()) >>> 0;
    const hi = Number((base as () => number)()) >>> 0;
    if (lo === 0 || hi <= lo) return null;
    cached = [lo, hi];
    return cached;
  };
}
