/**
 * DWARF attribute forms: reading one attribute value (DWARF 2 to 5), the abbreviation tables,
 * string and address indirections, and range lists. Shared by the .debug_info walk
 * (dwarf-info.ts) and the inline tree (dwarf-inline.ts).
 *
 * Invariants: readers throw only `Malformed` (reader.ts); `val` is one scratch slot that
 * readForm overwrites, so a caller copies what it needs before the next readForm.
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

/** What a decoded attribute value is. */
export const enum V {
  None, Const, Str, Strp, LineStrp, Strx, Addr, Addrx, Ref, SecOffset, Rnglistx,
}

export interface Abbrev {
  tag: number;
  children: boolean;
  /** attribute, form pairs */
  specs: number[];
  /** DW_FORM_implicit_const values, by spec index */
  implicit: Map<number, number>;
}

/** Per-unit decoding context (bases from the unit DIE, DWARF 5). */
export interface Ctx {
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
export const val = { kind: V.None as V, num: 0, str: '' };

export function readForm(r: Reader, form: number, c: Ctx, implicitValue: number): void {
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

export function valString(c: Ctx, kind: V, num: number, str: string): string | null {
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

export function valAddress(c: Ctx, kind: V, num: number): number {
  if (kind === V.Addr) return num;
  if (kind === V.Addrx) {
    const a = c.s.addr;
    const at = c.addrBase + num * c.addressSize;
    if (!a || at + c.addressSize > a.length) return -1;
    return new Reader(a, at).uN(c.addressSize);
  }
  return -1;
}

export function readAbbrevs(section: Uint8Array | undefined, offset: number): Map<number, Abbrev> {
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


/** The non-empty ranges of a range list (DWARF 4 .debug_ranges or 5 .debug_rnglists), as start, end pairs. */
export function ranges(c: Ctx, kind: V, num: number): number[] {
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
