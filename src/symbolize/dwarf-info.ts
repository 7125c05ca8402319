/**
 * Reader for .debug_info (DWARF 2 to 5): the compile units (for their line tables) and the
 * subprograms that own code (for function names when the name section is gone).
 *
 * It walks every DIE once, keeping only what naming needs: subprograms and the scopes that
 * qualify them (namespaces, classes, structs, unions, enums), with their parent and their
 * DW_AT_specification / DW_AT_abstract_origin link. Names are resolved later, per function.
 *
 * Invariants: `readDebugInfo` never throws; a corrupt unit stops that unit only (units are
 * length-prefixed, so the next one is still read); wasm addresses are code-section offsets, kept
 * as they are here (the caller adds the Code section's file offset). Tombstoned subprograms
 * (low_pc all ones, or 0 with no code, as wasm-ld and wasm-opt leave discarded functions) are
 * recorded like any other and simply never match a real function body.
 */
import { cstrAt, Malformed, Reader } from './reader.js';

export interface DwarfSections {
  info?: Uint8Array;
  abbrev?: Uint8Array;
  str?: Uint8Array;
  lineStr?: Uint8Array;
  strOffsets?: Uint8Array;
  addr?: Uint8Array;
  ranges?: Uint8Array;
  rnglists?: Uint8Array;
  line?: Uint8Array;
}

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

/**
 * Code ranges of inlined subroutines that are not inside another inlined subroutine, with their
 * call site: the position, in the real function, that the inlined code stands for.
 */
export interface InlinedRanges {
  start: number[];
  end: number[];
  /** Unit index (into `units`), whose line table the call file indexes. */
  unit: number[];
  callFile: number[];
  callLine: number[];
  callColumn: number[];
}

export interface DebugInfo {
  units: Unit[];
  inlined: InlinedRanges;
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
const AT_call_column = 0x57;
const AT_call_file = 0x58;
const AT_call_line = 0x59;
const AT_MIPS_linkage_name = 0x2007;
const AT_str_offsets_base = 0x72;
const AT_addr_base = 0x73;
const AT_rnglists_base = 0x74;
const AT_GNU_addr_base = 0x2133;

const KEPT_TAGS = new Set([
  TAG_subprogram, TAG_namespace, TAG_class_type, TAG_structure_type, TAG_union_type, TAG_enumeration_type,
]);

/** What a decoded attribute value is. */
const enum V {
  None, Const, Str, Strp, LineStrp, Strx, Addr, Addrx, Ref, SecOffset, Rnglistx,
}

interface Abbrev {
  tag: number;
  children: boolean;
  /** attribute, form pairs */
  specs: number[];
  /** DW_FORM_implicit_const values, by spec index */
  implicit: Map<number, number>;
}

/** Per-unit decoding context (bases from the unit DIE, DWARF 5). */
interface Ctx {
  s: DwarfSections;
  unitOffset: number;
  version: number;
  addressSize: number;
  offsetSize: number;
  strOffsetsBase: number;
  addrBase: number;
  rnglistsBase: number;
  baseAddress: number;
}

/** Scratch slot for one attribute value: no object per attribute. */
const val = { kind: V.None as V, num: 0, str: '' };

function readForm(r: Reader, form: number, c: Ctx, implicitValue: number): void {
  val.kind = V.Const;
  val.num = 0;
  switch (form) {
    case 0x01: val.kind = V.Addr; val.num = r.uN(c.addressSize); return; // addr
    case 0x03: r.skip(r.u16()); val.kind = V.None; return; // block2
    case 0x04: r.skip(r.u32()); val.kind = V.None; return; // block4
    case 0x05: val.num = r.u16(); return; // data2
    case 0x06: val.num = r.u32(); return; // data4
    case 0x07: val.num = r.u64(); return; // data8
    case 0x08: val.kind = V.Str; val.str = r.cstr(); return; // string
    case 0x09: r.skip(r.uleb()); val.kind = V.None; return; // block
    case 0x0a: r.skip(r.u8()); val.kind = V.None; return; // block1
    case 0x0b: val.num = r.u8(); return; // data1
    case 0x0c: val.num = r.u8(); return; // flag
    case 0x0d: val.num = r.sleb(); return; // sdata
    case 0x0e: val.kind = V.Strp; val.num = r.uN(c.offsetSize); return; // strp
    case 0x0f: val.num = r.uleb(); return; // udata
    case 0x10: val.kind = V.Ref; val.num = r.uN(c.version <= 2 ? c.addressSize : c.offsetSize); return; // ref_addr
    case 0x11: val.kind = V.Ref; val.num = c.unitOffset + r.u8(); return; // ref1
    case 0x12: val.kind = V.Ref; val.num = c.unitOffset + r.u16(); return; // ref2
    case 0x13: val.kind = V.Ref; val.num = c.unitOffset + r.u32(); return; // ref4
    case 0x14: val.kind = V.Ref; val.num = c.unitOffset + r.u64(); return; // ref8
    case 0x15: val.kind = V.Ref; val.num = c.unitOffset + r.uleb(); return; // ref_udata
    case 0x16: readForm(r, r.uleb(), c, implicitValue); return; // indirect
    case 0x17: val.kind = V.SecOffset; val.num = r.uN(c.offsetSize); return; // sec_offset
    case 0x18: r.skip(r.uleb()); val.kind = V.None; return; // exprloc
    case 0x19: val.num = 1; return; // flag_present
    case 0x1a: val.kind = V.Strx; val.num = r.uleb(); return; // strx
    case 0x1b: val.kind = V.Addrx; val.num = r.uleb(); return; // addrx
    case 0x1c: r.skip(4); val.kind = V.None; return; // ref_sup4
    case 0x1d: r.skip(c.offsetSize); val.kind = V.None; return; // strp_sup
    case 0x1e: r.skip(16); val.kind = V.None; return; // data16
    case 0x1f: val.kind = V.LineStrp; val.num = r.uN(c.offsetSize); return; // line_strp
    case 0x20: r.skip(8); val.kind = V.None; return; // ref_sig8
    case 0x21: val.num = implicitValue; return; // implicit_const
    case 0x22: r.uleb(); val.kind = V.None; return; // loclistx
    case 0x23: val.kind = V.Rnglistx; val.num = r.uleb(); return; // rnglistx
    case 0x24: r.skip(8); val.kind = V.None; return; // ref_sup8
    case 0x25: val.kind = V.Strx; val.num = r.u8(); return; // strx1
    case 0x26: val.kind = V.Strx; val.num = r.u16(); return; // strx2
    case 0x27: val.kind = V.Strx; val.num = r.u24(); return; // strx3
    case 0x28: val.kind = V.Strx; val.num = r.u32(); return; // strx4
    case 0x29: val.kind = V.Addrx; val.num = r.u8(); return; // addrx1
    case 0x2a: val.kind = V.Addrx; val.num = r.u16(); return; // addrx2
    case 0x2b: val.kind = V.Addrx; val.num = r.u24(); return; // addrx3
    case 0x2c: val.kind = V.Addrx; val.num = r.u32(); return; // addrx4
    case 0x1f01: val.kind = V.Addrx; val.num = r.uleb(); return; // GNU_addr_index
    case 0x1f02: val.kind = V.Strx; val.num = r.uleb(); return; // GNU_str_index
    case 0x1f20: r.skip(c.offsetSize); val.kind = V.None; return; // GNU_ref_alt
    case 0x1f21: r.skip(c.offsetSize); val.kind = V.None; return; // GNU_strp_alt
    default: throw new Malformed(`unknown DWARF form 0x${form.toString(16)}`);
  }
}

function valString(c: Ctx, kind: V, num: number, str: string): string | null {
  switch (kind) {
    case V.Str: return str;
    case V.Strp: return cstrAt(c.s.str, num);
    case V.LineStrp: return cstrAt(c.s.lineStr, num);
    case V.Strx: {
      const so = c.s.strOffsets;
      const at = c.strOffsetsBase + num * c.offsetSize;
      if (!so || at + c.offsetSize > so.length) return null;
      return cstrAt(c.s.str, new Reader(so, at).uN(c.offsetSize));
    }
    default: return null;
  }
}

function valAddress(c: Ctx, kind: V, num: number): number {
  if (kind === V.Addr) return num;
  if (kind === V.Addrx) {
    const a = c.s.addr;
    const at = c.addrBase + num * c.addressSize;
    if (!a || at + c.addressSize > a.length) return -1;
    return new Reader(a, at).uN(c.addressSize);
  }
  return -1;
}

function readAbbrevs(section: Uint8Array | undefined, offset: number): Map<number, Abbrev> {
  const table = new Map<number, Abbrev>();
  if (!section) return table;
  const r = new Reader(section, offset);
  try {
    for (;;) {
      const code = r.uleb();
      if (code === 0) break;
      const tag = r.uleb();
      const children = r.u8() !== 0;
      const specs: number[] = [];
      const implicit = new Map<number, number>();
      for (;;) {
        const attr = r.uleb();
        const form = r.uleb();
        if (attr === 0 && form === 0) break;
        if (form === 0x21) implicit.set(specs.length, r.sleb());
        specs.push(attr, form);
      }
      table.set(code, { tag, children, specs, implicit });
    }
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
  }
  return table;
}

export function readDebugInfo(s: DwarfSections): DebugInfo {
  const out: DebugInfo = {
    units: [],
    inlined: { start: [], end: [], unit: [], callFile: [], callLine: [], callColumn: [] },
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
  // Parallel to parents: whether that DIE is, or is inside, an inlined subroutine.
  const inInline: boolean[] = [];
  const unitIndex = out.units.length - 1;
  let first = true;
  try {
    while (!r.atEnd()) {
      const dieOffset = r.pos;
      const code = r.uleb();
      if (code === 0) {
        parents.pop();
        inInline.pop();
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
      } else if (ab.tag === TAG_inlined_subroutine && !inInline[inInline.length - 1]) {
        readInlined(r, ab, c, unitIndex, out);
      } else {
        const specs = ab.specs;
        for (let i = 0; i < specs.length; i += 2) readForm(r, specs[i + 1]!, c, ab.implicit.get(i) ?? 0);
      }
      if (ab.children) {
        parents.push(dieOffset);
        inInline.push(ab.tag === TAG_inlined_subroutine || (inInline[inInline.length - 1] ?? false));
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

function readInlined(r: Reader, ab: Abbrev, c: Ctx, unit: number, out: DebugInfo): void {
  let low = -1, highKind = V.None, highNum = 0, rangesKind = V.None, rangesNum = 0;
  let file = -1, line = 0, column = 0;
  const specs = ab.specs;
  for (let i = 0; i < specs.length; i += 2) {
    const attr = specs[i]!;
    readForm(r, specs[i + 1]!, c, ab.implicit.get(i) ?? 0);
    switch (attr) {
      case AT_low_pc: low = valAddress(c, val.kind, val.num); break;
      case AT_high_pc: highKind = val.kind; highNum = val.num; break;
      case AT_ranges: rangesKind = val.kind; rangesNum = val.num; break;
      case AT_call_file: if (val.kind === V.Const) file = val.num; break;
      case AT_call_line: if (val.kind === V.Const) line = val.num; break;
      case AT_call_column: if (val.kind === V.Const) column = val.num; break;
    }
  }
  if (file < 0 || line <= 0) return;
  let rs: number[] = [];
  if (low >= 0) {
    const high = highKind === V.Const ? low + highNum : valAddress(c, highKind, highNum);
    if (high > low) rs = [low, high];
  } else if (rangesKind !== V.None) {
    rs = ranges(c, rangesKind, rangesNum);
  }
  const t = out.inlined;
  for (let i = 0; i < rs.length; i += 2) {
    t.start.push(rs[i]!);
    t.end.push(rs[i + 1]!);
    t.unit.push(unit);
    t.callFile.push(file);
    t.callLine.push(line);
    t.callColumn.push(column);
  }
}

function addStart(out: DebugInfo, start: number, die: number): void {
  // wasm-ld marks the DWARF of discarded functions with all-ones (or, in ranges, all-ones minus 1).
  if (start >= 0xfffffffe && start <= 0xffffffff) return;
  if (!out.functionStarts.has(start)) out.functionStarts.set(start, die);
}

/** The non-empty ranges of a range list (DWARF 4 .debug_ranges or 5 .debug_rnglists), as start, end pairs. */
function ranges(c: Ctx, kind: V, num: number): number[] {
  const starts: number[] = [];
  try {
    if (c.version < 5) {
      const sec = c.s.ranges;
      if (!sec || kind !== V.SecOffset) return starts;
      const r = new Reader(sec, num);
      const max = c.addressSize === 8 ? 0xffffffffffffffff : 0xffffffff;
      let base = c.baseAddress;
      for (let n = 0; n < 100_000; n++) {
        const a = r.uN(c.addressSize);
        const b = r.uN(c.addressSize);
        if (a === 0 && b === 0) break;
        if (a === max) { base = b; continue; }
        if (b > a) starts.push(base + a, base + b);
      }
      return starts;
    }
    const sec = c.s.rnglists;
    if (!sec) return starts;
    let at: number;
    if (kind === V.Rnglistx) {
      const o = new Reader(sec, c.rnglistsBase + num * c.offsetSize).uN(c.offsetSize);
      at = c.rnglistsBase + o;
    } else if (kind === V.SecOffset) {
      at = num;
    } else {
      return starts;
    }
    const r = new Reader(sec, at);
    let base = c.baseAddress;
    const push = (a: number, b: number): void => {
      if (a >= 0 && b > a) starts.push(a, b);
    };
    for (let n = 0; n < 100_000; n++) {
      const k = r.u8();
      if (k === 0) break;
      switch (k) {
        case 1: base = valAddress(c, V.Addrx, r.uleb()); break; // base_addressx
        case 2: { const a = valAddress(c, V.Addrx, r.uleb()); push(a, valAddress(c, V.Addrx, r.uleb())); break; }
        case 3: { const a = valAddress(c, V.Addrx, r.uleb()); push(a, a + r.uleb()); break; }
        case 4: { const a = r.uleb(); const b = r.uleb(); push(base + a, base + b); break; }
        case 5: base = r.uN(c.addressSize); break;
        case 6: { const a = r.uN(c.addressSize); push(a, r.uN(c.addressSize)); break; }
        case 7: { const a = r.uN(c.addressSize); push(a, a + r.uleb()); break; }
        default: return starts;
      }
    }
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
  }
  return starts;
}
