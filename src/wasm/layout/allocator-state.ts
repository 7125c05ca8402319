/**
 * The allocator's private static state: address ranges to leave out of the roots.
 *
 * Why: dlmalloc keeps `top`, `dv` and its bins in static data; those pointers point at chunk
 * headers, which sit in the last bytes of the block before them. Scanned as roots they make that
 * block look referenced, hiding real leaks (corpus calloc_strdup.c and many.c). kmemleak never
 * scans the slab allocator's own bookkeeping either.
 *
 * Two sources, DWARF first:
 *   - DWARF: variables named like a known allocator's state (dlmalloc `_gm_`, `mparams`; emmalloc,
 *     Rust's dlmalloc crate) or declared in an allocator's compilation unit (dlmalloc.c, malloc.c,
 *     emmalloc.c, ...), with their type's size.
 *   - Code: the static addresses touched by functions reachable only from allocator entry points
 *     (through direct calls; program roots are exports, start, table elements), minus addresses
 *     any other function touches too (errno, shared libc state). Neighbouring private accesses
 *     are merged into one range when at most MERGE_GAP_MAX bytes apart and no other function
 *     touches anything between them; a range ends at its last access + width.
 */
import {
  type WasmModule, type CallGraph, KIND_FUNC, reachable, walkInstructions,
} from '../binary/index.js';
import { readDwarf } from '../binary/dwarf.js';
import type { StaticRefs } from './static-refs.js';

export interface PrivateRange {
  start: number;
  end: number;
  name: string;
  source: 'dwarf' | 'code';
}

const STATE_NAMES = new Set(['_gm_', 'mparams', 'gm', 'DLMALLOC', 'free_list', 'freeRegionBuckets',
  'freeRegionBucketsUsed', 'listOfAllRegions', 'numAllocatedBytes']);
const ALLOCATOR_UNIT = /(^|[/\\])(dlmalloc|malloc|emmalloc|mimalloc|tlsf)\.(c|cc|cpp)$/;

/** Allocator-private ranges from DWARF; empty when DWARF names none. */
export function privateFromDwarf(m: WasmModule, writableLo: number, writableHi: number): PrivateRange[] {
  const out: PrivateRange[] = [];
  for (const v of readDwarf(m).variables) {
    if (v.size <= 0 || v.isConst) continue;
    if (!(STATE_NAMES.has(v.name) || ALLOCATOR_UNIT.test(v.unit))) continue;
    if (v.address < writableLo || v.address >= writableHi) continue;
    out.push({ start: v.address, end: v.address + v.size, name: v.name, source: 'dwarf' });
  }
  return mergeRanges(out, 0);
}

/** Largest gap merged between two private accesses with nothing else touched in between. */
export const MERGE_GAP_MAX = 512;

/**
 * Allocator-private ranges from the code. `entries` are the allocator entry points (original
 * function indices).
 */
export function privateFromCode(m: WasmModule, g: CallGraph, refs: StaticRefs, entries: number[]): PrivateRange[] {
  if (!entries.length) return [];
  const I = m.importedFuncCount;
  const entrySet = new Set(entries);
  const roots: number[] = [];
  for (const e of m.exports) if (e.kind === KIND_FUNC) roots.push(e.index);
  if (m.start !== null) roots.push(m.start);
  for (const el of m.elements) {
    for (const f of el.funcIndices ?? []) roots.push(f);
    for (const x of el.exprs ?? []) if (x.value.kind === 'ref.func') roots.push(x.value.index);
  }
  for (const gl of m.globals) if (gl.init.value.kind === 'ref.func') roots.push(gl.init.value.index);
  // ref.func in code makes a function a possible indirect target too
  for (const b of m.bodies) {
    walkInstructions(m.bytes, b.codeStart, b.end, (ins) => {
      if (ins.op === 0xd2) roots.push(ins.index);
    });
  }
  const program = reachable(g, roots.filter((r) => !entrySet.has(r)), (f) => entrySet.has(f));
  const fromAlloc = reachable(g, entries);
  const isPrivate = (f: number): boolean => fromAlloc[f] === 1 && (program[f] !== 1 || entrySet.has(f));
  const shared = new Set<number>();
  const priv = new Map<number, number>(); // addr -> width
  for (let i = 0; i < m.bodies.length; i++) {
    const f = I + i;
    const p = isPrivate(f);
    for (let j = refs.offsets[i]!; j < refs.offsets[i + 1]!; j++) {
      const a = refs.addr[j]!;
      if (p) priv.set(a, Math.max(priv.get(a) ?? 0, refs.width[j]!));
      else shared.add(a);
    }
  }
  const ranges: PrivateRange[] = [];
  for (const [a, w] of priv) {
    if (shared.has(a)) continue;
    ranges.push({ start: a, end: a + w, name: '', source: 'code' });
  }
  // Merge neighbours unless another function touches something between them: the allocator's
  // variables are laid out together (one object file), its arrays are touched through bases.
  const sharedSorted = [...shared].sort((a, b) => a - b);
  const sharedBetween = (a: number, b: number): boolean => {
    let lo = 0;
    let hi = sharedSorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sharedSorted[mid]! < a) lo = mid + 1;
      else hi = mid;
    }
    return lo < sharedSorted.length && sharedSorted[lo]! < b;
  };
  const sorted = ranges.sort((x, y) => x.start - y.start);
  const out: PrivateRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + MERGE_GAP_MAX && !sharedBetween(last.end, r.start)) {
      if (r.end > last.end) last.end = r.end;
    } else {
      out.push({ ...r });
    }
  }
  return out.map((r) => ({ ...r, name: `allocator state 0x${r.start.toString(16)}` }));
}

export function mergeRanges(ranges: PrivateRange[], gap: number): PrivateRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const out: PrivateRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + gap) {
      if (r.end > last.end) last.end = r.end;
      if (r.name && !last.name.split(', ').includes(r.name)) last.name = last.name ? `${last.name}, ${r.name}` : r.name;
    } else {
      out.push({ ...r });
    }
  }
  return out;
}
