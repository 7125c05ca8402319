/**
 * Reader for .debug_info (DWARF 2 to 5): the compile units (for their line tables) and the
 * subprograms that own code (for function names when the name section is gone).
 *
 * It walks every DIE once, keeping only what naming needs: subprograms and the scopes that
 * qualify them (namespaces, classes, structs, unions, enums), with their parent and their
 * DW_AT_specification / DW_AT_abstract_origin link, and the inline tree (dwarf-inline.ts).
 * Names are resolved later, per function. Attribute forms are read by dwarf-forms.ts.
 *
 * Invariants: `readDebugInfo` never throws; a corrupt unit stops that unit only (units are
 * length-prefixed, so the next one is still read); wasm addresses are code-section offsets, kept
 * as they are here (the caller adds the Code section's file offset). Tombstoned subprograms
 * (low_pc all ones, or 0 with no code, as wasm-ld and wasm-opt leave discarded functions) are
 * recorded like any other and simply never match a real function body.
 */
import { Malformed, Reader } from './reader.js';
import {
  type Abbrev, type Ctx, type DwarfSections, V, ranges, readAbbrevs, readForm, val, valAddress, valString,
} from './dwarf-forms.js';
import { emptyInlineTree, readInlined, type InlineTree } from './dwarf-inline.js';

export type { DwarfSections } from './dwarf-forms.js';
export type { InlineTree } from './dwarf-inline.js';

export interface Unit {
  offset: number;
  version: number;
  addressSize: number;
  offsetSize: number;
  /** Offset of the unit's line table in .debug_line, or -1. */
  stmtList: number;
  name: string | null;
  compDir: string | null;
}

export interface DieEntry {
  tag: number;
  /** .debug_info offset of the parent DIE, or -1 at unit level. */
  parent: number;
  name: string | null;
  linkageName: string | null;
  /** Target of DW_AT_specification or DW_AT_abstract_origin, or -1. */
  ref: number;
}

export interface DebugInfo {
  units: Unit[];
  /** Every inlined subroutine, nested ones too (dwarf-inline.ts). */
  inlined: InlineTree;
  /** Subprograms and naming scopes, by .debug_info offset. */
  entries: Map<number, DieEntry>;
  /** First address of each code range of a subprogram -> the subprogram's DIE offset. */
  functionStarts: Map<number, number>;
  complete: boolean;
}

export const TAG_class_type = 0x02;
export const TAG_enumeration_type = 0x04;
export const TAG_structure_type = 0x13;
export const TAG_union_type = 0x17;
export const TAG_subprogram = 0x2e;
export const TAG_namespace = 0x39;
const TAG_inlined_subroutine = 0x1d;
const TAG_compile_unit = 0x11;
const TAG_partial_unit = 0x3c;
const TAG_skeleton_unit = 0x4a;

const AT_name = 0x03;
const AT_stmt_list = 0x10;
const AT_low_pc = 0x11;
const AT_high_pc = 0x12;
const AT_comp_dir = 0x1b;
const AT_abstract_origin = 0x31;
const AT_specification = 0x47;
const AT_ranges = 0x55;
const AT_linkage_name = 0x6e;
const AT_MIPS_linkage_name = 0x2007;
const AT_str_offsets_base = 0x72;
const AT_addr_base = 0x73;
const AT_rnglists_base = 0x74;
const AT_GNU_addr_base = 0x2133;

const KEPT_TAGS = new Set([
  TAG_subprogram, TAG_namespace, TAG_class_type, TAG_structure_type, TAG_union_type, TAG_enumeration_type,
]);

export function readDebugInfo(s: DwarfSections): DebugInfo {
  const out: DebugInfo = {
    units: [],
    inlined: emptyInlineTree(),
    entries: new Map(),
    functionStarts: new Map(),
    complete: true,
  };
  const info = s.info;
  if (!info) return out;
  const abbrevCache = new Map<number, Map<number, Abbrev>>();
  let offset = 0;
  while (offset + 11 <= info.length) {
    let next: number;
    try {
      const r = new Reader(info, offset);
      let length = r.u32();
      let offsetSize = 4;
      if (length === 0xffffffff) {
        length = r.u64();
        offsetSize = 8;
      } else if (length >= 0xfffffff0) {
        out.complete = false;
        break;
      }
      next = r.pos + length;
      if (next > info.length) {
        out.complete = false;
        next = info.length;
      }
      readUnit(s, new Reader(info, offset, next), offset, offsetSize, out, abbrevCache);
    } catch (e) {
      if (!(e instanceof Malformed)) throw e;
      out.complete = false;
      break;
    }
    offset = next;
  }
  return out;
}

function readUnit(
  s: DwarfSections,
  r: Reader,
  unitOffset: number,
  offsetSize: number,
  out: DebugInfo,
  abbrevCache: Map<number, Map<number, Abbrev>>,
): void {
  r.skip(offsetSize === 8 ? 12 : 4);
  const version = r.u16();
  if (version < 2 || version > 5) return;
  let addressSize: number;
  let abbrevOffset: number;
  if (version >= 5) {
    const unitType = r.u8();
    addressSize = r.u8();
    abbrevOffset = r.uN(offsetSize);
    if (unitType === 4 || unitType === 5) r.skip(8); // skeleton / split compile: dwo_id
    else if (unitType === 2 || unitType === 6) { r.skip(8); r.uN(offsetSize); } // type units
  } else {
    abbrevOffset = r.uN(offsetSize);
    addressSize = r.u8();
  }
  if (addressSize !== 4 && addressSize !== 8 && addressSize !== 2) return;
  let abbrevs = abbrevCache.get(abbrevOffset);
  if (!abbrevs) {
    abbrevs = readAbbrevs(s.abbrev, abbrevOffset);
    abbrevCache.set(abbrevOffset, abbrevs);
  }
  const c: Ctx = {
    s, unitOffset, version, addressSize, offsetSize,
    strOffsetsBase: 8, addrBase: 8, rnglistsBase: 12, baseAddress: 0,
  };
  const unit: Unit = { offset: unitOffset, version, addressSize, offsetSize, stmtList: -1, name: null, compDir: null };
  out.units.push(unit);

  const parents: number[] = [];
  // Parallel to parents: the innermost inlined subroutine that DIE is or is inside (its node in
  // out.inlined), or -1.
  const inlineNode: number[] = [];
  const unitIndex = out.units.length - 1;
  let first = true;
  try {
    while (!r.atEnd()) {
      const dieOffset = r.pos;
      const code = r.uleb();
      if (code === 0) {
        parents.pop();
        inlineNode.pop();
        if (parents.length === 0 && !first) break;
        continue;
      }
      const ab = abbrevs.get(code);
      if (!ab) throw new Malformed(`unknown abbreviation ${code}`);
      if (first) {
        first = false;
        readUnitDie(r, ab, c, unit);
      } else if (KEPT_TAGS.has(ab.tag)) {
        readKeptDie(r, ab, c, dieOffset, parents.length ? parents[parents.length - 1]! : -1, out);
      } else if (ab.tag === TAG_inlined_subroutine) {
        const node = readInlined(r, ab, c, unitIndex, inlineNode[inlineNode.length - 1] ?? -1, out.inlined);
        if (ab.children) {
          parents.push(dieOffset);
          inlineNode.push(node);
        }
        continue;
      } else {
        const specs = ab.specs;
        for (let i = 0; i < specs.length; i += 2) readForm(r, specs[i + 1]!, c, ab.implicit.get(i) ?? 0);
      }
      if (ab.children) {
        parents.push(dieOffset);
        inlineNode.push(inlineNode[inlineNode.length - 1] ?? -1);
      } else if (parents.length === 0) break; // a unit DIE without children
    }
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
    out.complete = false;
  }
}

function readUnitDie(r: Reader, ab: Abbrev, c: Ctx, unit: Unit): void {
  // Bases may come after the attributes that need them: collect first, resolve after.
  const raw: [number, V, number, string][] = [];
  const specs = ab.specs;
  for (let i = 0; i < specs.length; i += 2) {
    const attr = specs[i]!;
    readForm(r, specs[i + 1]!, c, ab.implicit.get(i) ?? 0);
    switch (attr) {
      case AT_str_offsets_base: c.strOffsetsBase = val.num; break;
      case AT_addr_base: case AT_GNU_addr_base: c.addrBase = val.num; break;
      case AT_rnglists_base: c.rnglistsBase = val.num; break;
      case AT_name: case AT_comp_dir: case AT_stmt_list: case AT_low_pc:
        raw.push([attr, val.kind, val.num, val.str]);
        break;
    }
  }
  if (ab.tag !== TAG_compile_unit && ab.tag !== TAG_partial_unit && ab.tag !== TAG_skeleton_unit) return;
  for (const [attr, kind, num, str] of raw) {
    if (attr === AT_name) unit.name = valString(c, kind, num, str);
    else if (attr === AT_comp_dir) unit.compDir = valString(c, kind, num, str);
    else if (attr === AT_stmt_list) unit.stmtList = num;
    else if (attr === AT_low_pc) {
      const a = valAddress(c, kind, num);
      if (a >= 0) c.baseAddress = a;
    }
  }
}

function readKeptDie(r: Reader, ab: Abbrev, c: Ctx, dieOffset: number, parent: number, out: DebugInfo): void {
  const entry: DieEntry = { tag: ab.tag, parent, name: null, linkageName: null, ref: -1 };
  let low = -1;
  let highKind = V.None;
  let highNum = 0;
  let rangesKind = V.None;
  let rangesNum = 0;
  const specs = ab.specs;
  for (let i = 0; i < specs.length; i += 2) {
    const attr = specs[i]!;
    readForm(r, specs[i + 1]!, c, ab.implicit.get(i) ?? 0);
    switch (attr) {
      case AT_name: entry.name = valString(c, val.kind, val.num, val.str); break;
      case AT_linkage_name:
      case AT_MIPS_linkage_name:
        entry.linkageName = valString(c, val.kind, val.num, val.str);
        break;
      case AT_specification:
      case AT_abstract_origin:
        if (val.kind === V.Ref) entry.ref = val.num;
        break;
      case AT_low_pc: low = valAddress(c, val.kind, val.num); break;
      case AT_high_pc: highKind = val.kind; highNum = val.num; break;
      case AT_ranges: rangesKind = val.kind; rangesNum = val.num; break;
    }
  }
  out.entries.set(dieOffset, entry);
  if (ab.tag !== TAG_subprogram) return;
  if (low >= 0) {
    const high = highKind === V.Const ? low + highNum : valAddress(c, highKind, highNum);
    if (high > low) addStart(out, low, dieOffset);
  } else if (rangesKind !== V.None) {
    const rs = ranges(c, rangesKind, rangesNum);
    for (let i = 0; i < rs.length; i += 2) addStart(out, rs[i]!, dieOffset);
  }
}

function addStart(out: DebugInfo, start: number, die: number): void {
  // wasm-ld marks the DWARF of discarded functions with all-ones (or, in ranges, all-ones minus 1).
  if (start >= 0xfffffffe && start <= 0xffffffff) return;
  if (!out.functionStarts.has(start)) out.functionStarts.set(start, die);
}
