/**
 * staticLayout(): where a wasm32 program's static data, stack and heap are, and which static
 * ranges are roots for the leak scan (SPEC §2).
 *
 * API
 *   staticLayout(original: Uint8Array | WasmModule, opts?: { allocatorEntries?: number[],
 *                stackSize?: number }): Layout
 *     Throws WasmFormatError for malformed input (one line). Never throws for odd layouts: it
 *     returns what it could decide, with `notes` saying how.
 *
 *   Layout
 *     memoryPages       memory 0's initial size in 64 KiB pages (0 without memory)
 *     stackPointer      { global, initial, source } or null (see stack-pointer.ts)
 *     stackTop          the stack pointer's initial value (the stack grows down from it), or null
 *     stackLow          lowest stack address: stackTop - stack size (64 KiB unless opts.stackSize),
 *                       or 0 / the data start for stack-first layouts
 *     stackFirst        wasm-ld --stack-first: the stack lies below the data
 *     dataStart         lowest address of an active data segment (wasm-ld's global base, 1024)
 *     heapBase          __heap_base when named or exported, else null
 *     dataEnd           __data_end when named or exported, else null
 *     rodata            read-only data [start, end) (.rodata; not a root), or null
 *     writable          .data + .bss [start, end), or null: the static roots before exclusions
 *     allocatorPrivate  ranges of the allocator's own state (dlmalloc _gm_, mparams), with
 *                       name and source ('dwarf' | 'code'), to leave out of the roots
 *     roots             writable minus allocatorPrivate: feed these to the scanner
 *     segments          every data segment: { index, name, start, end, kind } with kind
 *                       'rodata' | 'data' | 'bss' | 'tls' | 'passive'
 *     notes             one line per decision that used a heuristic
 *
 * The rules (wasm-ld's layout: [global base: .rodata, .data, .bss][stack][heap], or with
 * --stack-first [stack][.rodata, .data, .bss][heap]; __data_end is the end of .bss and
 * __heap_base follows the stack or the data, 16-byte aligned):
 *   - Segment kinds from data segment names (.rodata*, .data*, .bss*, .tdata*). Without names,
 *     .data starts at the lowest address that is evidently writable: a static store in the code,
 *     or a non-const DWARF variable; without any evidence, every segment but a first one of
 *     several is writable (wasm-ld's .rodata, .data order), a lone segment counts as writable.
 *   - End of .bss: __data_end; else __heap_base in a stack-first layout; else the stack's low end
 *     when a symbol gives it (__stack_low, Emscripten's emscripten_stack_get_end()); else, not stack-first,
 *     stackTop - 64 KiB (wasm-ld's default stack size; the stack starts right after .bss, 16-byte
 *     aligned) unless the code or DWARF references static data above that (a smaller stack: then
 *     that highest reference, aligned up to 16); else (stack-first, no symbols) the highest
 *     static address referenced by the code or described by DWARF, aligned up to 16, at least the
 *     end of the last segment. Without DWARF, an array at the very end of .bss that the code only
 *     indexes may be cut short there.
 *   - Allocator-private state: see allocator-state.ts (DWARF first, else the allocator's code).
 *     `allocatorEntries` are the original function indices of the allocator's entry points (from
 *     instrument(); found by name here when omitted).
 */
import {
  type WasmModule, parseModule, callGraph, memory0, walkInstructions, KIND_GLOBAL, KIND_FUNC, I32,
} from '../binary/index.js';
import { readDwarf } from '../binary/dwarf.js';
import { findAllocators } from '../instrument/allocators.js';
import { findStackPointer, type StackPointer } from './stack-pointer.js';
import { collectStaticRefs } from './static-refs.js';
import { privateFromCode, privateFromDwarf, type PrivateRange } from './allocator-state.js';

export type { StackPointer } from './stack-pointer.js';
export type { PrivateRange } from './allocator-state.js';
export { findStackPointer } from './stack-pointer.js';

export interface Range {
  start: number;
  end: number;
}

export type SegmentKind = 'rodata' | 'data' | 'bss' | 'tls' | 'passive';

export interface SegmentInfo {
  index: number;
  name: string | null;
  start: number;
  end: number;
  kind: SegmentKind;
}

export interface Layout {
  memoryPages: number;
  stackPointer: StackPointer | null;
  stackTop: number | null;
  stackLow: number | null;
  stackFirst: boolean;
  dataStart: number | null;
  heapBase: number | null;
  dataEnd: number | null;
  rodata: Range | null;
  writable: Range | null;
  allocatorPrivate: PrivateRange[];
  roots: Range[];
  segments: SegmentInfo[];
  notes: string[];
}

export interface LayoutOptions {
  allocatorEntries?: number[];
  /** The stack size when known (wasm-ld -z stack-size); default 64 KiB. */
  stackSize?: number;
}

export const DEFAULT_STACK_SIZE = 65536;
/** wasm-ld's default --global-base. */
const WASM_LD_GLOBAL_BASE = 1024;
const PAGE = 65536;

const alignUp = (v: number, a: number): number => Math.ceil(v / a) * a;

/** The value of a global named or exported as `name`, when it is an i32 constant. */
function symbolValue(m: WasmModule, name: string): number | null {
  const fromGlobal = (g: number): number | null => {
    const gl = m.globals[g - m.importedGlobalCount];
    if (!gl || gl.type.valType !== I32) return null;
    return gl.init.value.kind === 'i32' ? gl.init.value.value >>> 0 : null;
  };
  for (const e of m.exports) if (e.kind === KIND_GLOBAL && e.name === name) {
    const v = fromGlobal(e.index);
    if (v !== null) return v;
  }
  if (m.names) for (const [g, n] of m.names.globals) if (n === name) {
    const v = fromGlobal(g);
    if (v !== null) return v;
  }
  return null;
}

/** The constant a function named `name` (name section or export) returns, when its body is just that. */
function constantFunction(m: WasmModule, name: string): number | null {
  let f: number | undefined;
  for (const e of m.exports) if (e.kind === KIND_FUNC && e.name === name) f = e.index;
  if (f === undefined && m.names) for (const [i, n] of m.names.functions) if (n === name) f = i;
  const body = f === undefined ? undefined : m.bodies[f - m.importedFuncCount];
  if (!body) return null;
  let value: number | null = null;
  let count = 0;
  walkInstructions(m.bytes, body.codeStart, body.end, (ins) => {
    count++;
    if (count === 1 && ins.op === 0x41) value = ins.i32 >>> 0;
  });
  return count === 2 ? value : null;
}

export function staticLayout(original: Uint8Array | WasmModule, opts: LayoutOptions = {}): Layout {
  const m = original instanceof Uint8Array ? parseModule(original) : original;
  const notes: string[] = [];
  const mem = memory0(m);
  const memoryPages = mem ? mem.min : 0;
  const memLimit = memoryPages * PAGE;
  const stackSize = opts.stackSize ?? DEFAULT_STACK_SIZE;

  const sp = findStackPointer(m);
  const stackTop = sp?.initial ?? null;
  if (sp && sp.source === 'heuristic') notes.push(`stack pointer: global ${sp.global} (first mutable i32 global initialized inside memory)`);
  if (!sp) notes.push('no stack pointer global found: no shadow stack');

  // Data segments.
  const segments: SegmentInfo[] = [];
  for (const d of m.data) {
    const name = m.names?.data.get(d.index) ?? null;
    if (d.mode === 'passive' || d.memory !== 0 || !d.offset || d.offset.value.kind !== 'i32') {
      segments.push({ index: d.index, name, start: 0, end: 0, kind: 'passive' });
      continue;
    }
    const start = d.offset.value.value >>> 0;
    segments.push({ index: d.index, name, start, end: start + (d.dataEnd - d.dataStart), kind: 'data' });
  }
  if (segments.some((s) => s.kind === 'passive')) {
    notes.push('passive data segments (bulk memory / threads) have no static address: not placed');
  }
  const placed = segments.filter((s) => s.kind !== 'passive').sort((a, b) => a.start - b.start);
  // Without any segment (all static data zero-initialized) .bss starts at wasm-ld's global base
  // (1024), or right after the stack in a stack-first layout.
  const dataStart = placed.length ? placed[0]!.start
    : stackTop !== null ? (stackTop <= WASM_LD_GLOBAL_BASE ? stackTop : WASM_LD_GLOBAL_BASE) : null;
  if (!placed.length && dataStart !== null) {
    notes.push(`no data segments: static data taken to start at 0x${dataStart.toString(16)}`);
  }
  const segEnd = placed.reduce((e, s) => Math.max(e, s.end), dataStart ?? 0);
  const stackFirst = stackTop !== null && dataStart !== null && stackTop <= dataStart;

  const heapBase = symbolValue(m, '__heap_base');
  const dataEnd = symbolValue(m, '__data_end');
  // The stack's low end when a symbol gives it: wasm-ld's __stack_low, or Emscripten's
  // emscripten_stack_get_end(), a function returning a constant.
  const stackLowSymbol = symbolValue(m, '__stack_low') ?? constantFunction(m, 'emscripten_stack_get_end');

  // Evidence from code and DWARF.
  const refLo = dataStart ?? 0;
  const refHi = stackFirst || stackTop === null ? memLimit : stackTop;
  const refs = collectStaticRefs(m, refLo, Math.max(refLo, refHi));
  const dwarf = readDwarf(m);
  let highestRef = 0;
  let lowestStore = Infinity;
  for (let i = 0; i < refs.addr.length; i++) {
    if (!refs.exact[i]) continue;
    const end = refs.addr[i]! + refs.width[i]!;
    if (end > highestRef) highestRef = end;
    if (refs.store[i] && refs.addr[i]! < lowestStore) lowestStore = refs.addr[i]!;
  }
  let highestDwarf = 0;
  let lowestWritableVar = Infinity;
  for (const v of dwarf.variables) {
    if (v.address < refLo || v.address >= refHi) continue;
    if (v.address + v.size > highestDwarf) highestDwarf = v.address + v.size;
    if (!v.isConst && v.address < segEnd && v.address < lowestWritableVar) lowestWritableVar = v.address;
  }

  // Segment kinds.
  const named = placed.some((s) => s.name !== null);
  let writableStart: number | null = null;
  if (named) {
    for (const s of placed) {
      const n = s.name ?? '';
      if (n.startsWith('.rodata')) s.kind = 'rodata';
      else if (n.startsWith('.bss')) s.kind = 'bss';
      else if (n.startsWith('.tdata') || n.startsWith('.tbss')) s.kind = 'tls';
      else s.kind = 'data';
    }
    const w = placed.find((s) => s.kind === 'data' || s.kind === 'bss');
    // Only read-only segments: .bss (never a segment in a linked binary) follows them.
    writableStart = w ? w.start : alignUp(segEnd, 4);
  } else if (!placed.length) {
    writableStart = dataStart;
  } else {
    const evidence = Math.min(lowestStore, lowestWritableVar);
    if (evidence < segEnd) {
      writableStart = evidence;
      // a segment containing the evidence starts the writable part if the evidence is its first byte
      const seg = placed.find((s) => s.start <= evidence && evidence < s.end);
      if (seg && seg.start === evidence) writableStart = seg.start;
      notes.push(`no data segment names: .data starts at 0x${writableStart.toString(16)} ` +
        `(lowest ${lowestStore <= lowestWritableVar ? 'static store in the code' : 'writable DWARF variable'})`);
    } else if (placed.length > 1) {
      writableStart = placed[1]!.start;
      notes.push('no data segment names and no writable evidence: the first segment is taken as .rodata');
    } else {
      writableStart = placed[0]!.start;
      notes.push('no data segment names and a single segment: taken as writable');
    }
    for (const s of placed) s.kind = s.end <= writableStart ? 'rodata' : 'data';
  }

  // End of .bss.
  let bssEnd: number | null = null;
  let stackLow: number | null = null;
  if (dataEnd !== null) {
    bssEnd = dataEnd;
  } else if (stackLowSymbol !== null && !stackFirst && stackTop !== null && stackLowSymbol < stackTop) {
    bssEnd = stackLowSymbol;
    notes.push(`.bss ends where the stack's low end symbol says, 0x${bssEnd.toString(16)}`);
  } else if (heapBase !== null && stackFirst) {
    bssEnd = heapBase;
  } else if (stackTop !== null && !stackFirst) {
    const candidate = stackTop - stackSize;
    const evidence = Math.max(highestRef, highestDwarf, segEnd);
    if (evidence <= candidate) {
      bssEnd = candidate;
    } else {
      bssEnd = Math.min(alignUp(evidence, 16), stackTop);
      notes.push(`static data reaches 0x${evidence.toString(16)}, above stack top - ${stackSize}: the stack is smaller; ` +
        `.bss ends at 0x${bssEnd.toString(16)}`);
    }
  } else if (dataStart !== null) {
    const evidence = Math.max(highestRef, highestDwarf, segEnd);
    bssEnd = alignUp(evidence, 16);
    if (heapBase !== null && heapBase < bssEnd) bssEnd = heapBase;
    notes.push(`no __data_end: .bss taken to end at the highest static reference, 0x${bssEnd.toString(16)}`);
  }
  if (stackTop !== null && stackLowSymbol !== null && stackLowSymbol < stackTop) {
    stackLow = stackLowSymbol;
  } else if (stackTop !== null) {
    if (stackFirst) stackLow = Math.max(0, stackTop - stackSize);
    else stackLow = bssEnd !== null ? Math.max(bssEnd, stackTop - stackSize) : stackTop - stackSize;
  }

  // Extend the last writable segment kind to bss (the zero-fill after the last segment).
  const writable: Range | null = writableStart !== null && bssEnd !== null && bssEnd > writableStart
    ? { start: writableStart, end: bssEnd } : null;
  const ro = placed.filter((s) => s.kind === 'rodata');
  const rodata: Range | null = ro.length ? { start: ro[0]!.start, end: Math.max(...ro.map((s) => s.end)) } : null;

  // Allocator-private state.
  let allocatorPrivate: PrivateRange[] = [];
  if (writable) {
    allocatorPrivate = privateFromDwarf(m, writable.start, writable.end);
    if (!allocatorPrivate.length) {
      const g = callGraph(m);
      let entries = opts.allocatorEntries;
      if (!entries) {
        try {
          entries = findAllocators(m, g).map((a) => a.index);
        } catch {
          entries = [];
        }
      }
      if (entries.length) {
        const inWritable = collectStaticRefs(m, writable.start, writable.end);
        allocatorPrivate = privateFromCode(m, g, inWritable, entries);
        if (allocatorPrivate.length) notes.push('allocator state found from the allocator\'s code (no DWARF names it)');
      } else {
        notes.push('allocator entry points unknown: its private state cannot be excluded from the roots');
      }
    }
  }
  const roots = writable ? subtract(writable, allocatorPrivate) : [];
  return {
    memoryPages, stackPointer: sp, stackTop, stackLow, stackFirst, dataStart, heapBase, dataEnd, rodata, writable,
    allocatorPrivate, roots, segments, notes,
  };
}

function subtract(r: Range, holes: Range[]): Range[] {
  const out: Range[] = [];
  let cur = r.start;
  for (const h of [...holes].sort((a, b) => a.start - b.start)) {
    if (h.end <= cur || h.start >= r.end) continue;
    if (h.start > cur) out.push({ start: cur, end: h.start });
    cur = Math.max(cur, h.end);
  }
  if (cur < r.end) out.push({ start: cur, end: r.end });
  return out;
}
