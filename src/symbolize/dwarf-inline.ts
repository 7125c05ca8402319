/**
 * The inline tree of .debug_info: every DW_TAG_inlined_subroutine, nested ones included, with
 * its code ranges, its abstract origin (the inlined function's DIE, which names it) and its call
 * site (DW_AT_call_file/line/column: where, in the code that holds it, the inlined call stands).
 *
 * Why: at -O2 an allocation site is often inlined into its caller; the real frame then names
 * the caller, and only this tree says which functions the code at an address was inlined from,
 * the way llvm-symbolizer --inlining and the kernel's decoded stacks (`func file:line [inline]`)
 * show them.
 *
 * Invariants: `readInlined` reads one DIE's attributes and never throws anything but Malformed
 * (reader.ts); a node is recorded even without a call site (callLine 0) so that nesting stays
 * right. `InlineIndex.chainAt` only answers from ranges that start inside the asking function's
 * body, so stale DWARF (addresses zeroed by wasm-opt without -g) yields no chain.
 */
import type { Reader } from './reader.js';
import { type Abbrev, type Ctx, V, ranges, readForm, val, valAddress } from './dwarf-forms.js';

const AT_low_pc = 0x11;
const AT_high_pc = 0x12;
const AT_abstract_origin = 0x31;
const AT_ranges = 0x55;
const AT_call_column = 0x57;
const AT_call_file = 0x58;
const AT_call_line = 0x59;

/** Nodes (one per inlined_subroutine DIE) and their code ranges, as parallel arrays. */
export interface InlineTree {
  /** .debug_info offset of DW_AT_abstract_origin (the inlined function's DIE), or -1. */
  origin: number[];
  /** The enclosing inlined subroutine's node, or -1 when the node sits directly in a function. */
  parent: number[];
  /** Unit index (into DebugInfo.units), whose line table the call file indexes. */
  unit: number[];
  callFile: number[];
  /** 0 when the DIE has no call site. */
  callLine: number[];
  callColumn: number[];
  /** Code ranges [start, end), each belonging to node `node`. */
  start: number[];
  end: number[];
  node: number[];
}

export function emptyInlineTree(): InlineTree {
  return { origin: [], parent: [], unit: [], callFile: [], callLine: [], callColumn: [], start: [], end: [], node: [] };
}

/** Reads one inlined_subroutine DIE (the reader at its attributes) into `t`; returns its node. */
export function readInlined(r: Reader, ab: Abbrev, c: Ctx, unit: number, parent: number, t: InlineTree): number {
  let low = -1, highKind = V.None, highNum = 0, rangesKind = V.None, rangesNum = 0;
  let origin = -1, file = -1, line = 0, column = 0;
  const specs = ab.specs;
  for (let i = 0; i < specs.length; i += 2) {
    const attr = specs[i]!;
    readForm(r, specs[i + 1]!, c, ab.implicit.get(i) ?? 0);
    switch (attr) {
      case AT_low_pc: low = valAddress(c, val.kind, val.num); break;
      case AT_high_pc: highKind = val.kind; highNum = val.num; break;
      case AT_ranges: rangesKind = val.kind; rangesNum = val.num; break;
      case AT_abstract_origin: if (val.kind === V.Ref) origin = val.num; break;
      case AT_call_file: if (val.kind === V.Const) file = val.num; break;
      case AT_call_line: if (val.kind === V.Const) line = val.num; break;
      case AT_call_column: if (val.kind === V.Const) column = val.num; break;
    }
  }
  const node = t.origin.length;
  t.origin.push(origin);
  t.parent.push(parent);
  t.unit.push(unit);
  t.callFile.push(file);
  t.callLine.push(file >= 0 && line > 0 ? line : 0);
  t.callColumn.push(column);
  let rs: number[] = [];
  if (low >= 0) {
    const high = highKind === V.Const ? low + highNum : valAddress(c, highKind, highNum);
    if (high > low) rs = [low, high];
  } else if (rangesKind !== V.None) {
    rs = ranges(c, rangesKind, rangesNum);
  }
  for (let i = 0; i < rs.length; i += 2) {
    t.start.push(rs[i]!);
    t.end.push(rs[i + 1]!);
    t.node.push(node);
  }
  return node;
}

/**
 * Which inlined subroutine holds an address, decided as llvm-symbolizer decides it (LLVM's
 * DWARFUnit address-to-DIE map): the function's own range first, then each inlined
 * subroutine's ranges in DIE order, each one taking over the part of the map it covers; the node
 * found is the last one written there, and its chain is its parent links. Well-nested DWARF
 * (what clang writes) gives the deepest node holding the address; DWARF that an optimiser left
 * overlapping (wasm-opt -g) gives what llvm-symbolizer shows for it too. Maps are built per
 * function body on first use and kept.
 */
export class InlineIndex {
  private readonly start: Float64Array;
  private readonly order: Uint32Array;
  private readonly maps = new Map<number, BodyMap>();

  constructor(readonly tree: InlineTree) {
    const order = tree.start.map((_, i) => i).sort((a, b) => tree.start[a]! - tree.start[b]! || a - b);
    this.order = Uint32Array.from(order);
    this.start = Float64Array.from(order, (i) => tree.start[i]!);
  }

  /**
   * The inlined subroutines whose code holds `address`, innermost first (the last one sits
   * directly in the function), from ranges that start inside [bodyStart, bodyEnd).
   */
  chainAt(address: number, bodyStart: number, bodyEnd: number): number[] {
    if (address < bodyStart || address >= bodyEnd) return [];
    let map = this.maps.get(bodyStart);
    if (!map) {
      map = this.buildMap(bodyStart, bodyEnd);
      this.maps.set(bodyStart, map);
    }
    const chain: number[] = [];
    for (let n = map.lookup(address); n >= 0 && chain.length < 256; n = this.tree.parent[n]!) chain.push(n);
    return chain;
  }

  private buildMap(bodyStart: number, bodyEnd: number): BodyMap {
    const map = new BodyMap();
    map.insert(bodyStart, bodyEnd, -1);
    // Ranges starting in the body, in the order their DIEs come (range index order).
    const ranges: number[] = [];
    for (let i = lowerBound(this.start, bodyStart); i < this.start.length && this.start[i]! < bodyEnd; i++) ranges.push(this.order[i]!);
    ranges.sort((a, b) => a - b);
    for (const r of ranges) map.insert(this.tree.start[r]!, this.tree.end[r]!, this.tree.node[r]!);
    return map;
  }
}

/** LLVM's AddrDieMap for one body: key -> (high, node), an entry covering [key, high). */
class BodyMap {
  private keys: number[] = [];
  private highs: number[] = [];
  private nodes: number[] = [];

  insert(lo: number, hi: number, node: number): void {
    if (hi <= lo) return;
    const b = upperBound(this.keys, lo) - 1;
    if (b >= 0 && lo < this.highs[b]!) {
      // A range inside an existing one splits it: what follows keeps the old node.
      if (hi < this.highs[b]!) this.set(hi, this.highs[b]!, this.nodes[b]!);
      if (lo > this.keys[b]!) this.highs[b] = lo;
    }
    this.set(lo, hi, node);
  }

  /** The node of the entry holding `address`; -1 for the function itself or none. */
  lookup(address: number): number {
    const r = upperBound(this.keys, address) - 1;
    if (r < 0 || address >= this.highs[r]!) return -1;
    return this.nodes[r]!;
  }

  private set(key: number, high: number, node: number): void {
    const at = lowerBound(this.keys, key);
    if (at < this.keys.length && this.keys[at] === key) {
      this.highs[at] = high;
      this.nodes[at] = node;
      return;
    }
    this.keys.splice(at, 0, key);
    this.highs.splice(at, 0, high);
    this.nodes.splice(at, 0, node);
  }
}

/** The number of entries of the ascending array that are <= x. */
export function upperBound(sorted: ArrayLike<number>, x: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The number of entries of the ascending array that are < x. */
function lowerBound(sorted: ArrayLike<number>, x: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
