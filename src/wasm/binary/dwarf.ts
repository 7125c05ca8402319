/**
 * A small .debug_info reader: global variables (name, address, size, const-ness) and function
 * definitions (name, code-section address), nothing else.
 *
 * Why ours: the static layout needs the allocator's private variables (dlmalloc's `_gm_`,
 * `mparams`) with their sizes, and the rewriter needs function names when the name section was
 * stripped but DWARF kept. The symbolizer (src/symbolize/) owns line tables and frame names; this
 * file only answers those two questions, and never throws on bad DWARF: debug info is optional,
 * so a malformed or unsupported unit is skipped with a warning and the rest is still used.
 *
 * Invariants: addresses of variables are linear-memory addresses (DW_OP_addr); function
 * addresses are offsets from the start of the code section's content, as LLVM emits them for
 * wasm. Functions whose low_pc is 0 are ignored (wasm-opt zeroes addresses it cannot update; no
 * real body starts at code offset 0).
 */
import { ByteReader } from './bytes.js';
import { SEC_CODE, type WasmModule } from './types.js';

export interface DwarfVariable {
  name: string;
  address: number;
  /** Byte size of the variable's type, 0 when it could not be computed. */
  size: number;
  /** Declared const (read-only data). */
  isConst: boolean;
  /** The compilation unit's name (source file), '' when unknown. */
  unit: string;
}

export interface DwarfFunction {
  name: string;
  /** Mangled name when DWARF has one (C++), else the plain name. */
  linkageName: string;
  /** Offset from the code section content start. */
  lowPc: number;
  highPc: number;
}

export interface DwarfInfo {
  variables: DwarfVariable[];
  functions: DwarfFunction[];
  warnings: string[];
}

const TAG_ARRAY = 0x01, TAG_CLASS = 0x02, TAG_ENUM = 0x04, TAG_POINTER = 0x0f,
  TAG_REFERENCE = 0x10, TAG_STRUCT = 0x13, TAG_SUBROUTINE_TYPE = 0x15, TAG_TYPEDEF = 0x16, TAG_UNION = 0x17,
  TAG_PTR_TO_MEMBER = 0x1f, TAG_SUBRANGE = 0x21, TAG_BASE = 0x24, TAG_CONST = 0x26, TAG_SUBPROGRAM = 0x2e,
  TAG_VARIABLE = 0x34, TAG_VOLATILE = 0x35, TAG_RESTRICT = 0x37, TAG_RVALUE_REF = 0x42, TAG_ATOMIC = 0x47;

const AT_LOCATION = 0x02, AT_NAME = 0x03, AT_BYTE_SIZE = 0x0b, AT_LOW_PC = 0x11, AT_HIGH_PC = 0x12,
  AT_LOWER_BOUND = 0x22, AT_UPPER_BOUND = 0x2f, AT_ABSTRACT_ORIGIN = 0x31, AT_COUNT = 0x37,
  AT_SPECIFICATION = 0x47, AT_TYPE = 0x49, AT_LINKAGE_NAME = 0x6e, AT_MIPS_LINKAGE_NAME = 0x2007,
  AT_STR_OFFSETS_BASE = 0x72, AT_ADDR_BASE = 0x73;

interface Abbrev {
  tag: number;
  children: boolean;
  attrs: number[]; // attr, form, implicit-const value triples
}

/** Per-DIE facts we keep (only for DIEs that matter). */
interface Die {
  tag: number;
  name?: string;
  linkage?: string;
  type?: number;
  byteSize?: number;
  count?: number;
  lower?: number;
  upper?: number;
  addr?: number;
  lowPc?: number;
  highPc?: number;
  highIsOffset?: boolean;
  spec?: number;
  origin?: number;
  subranges?: Die[];
  /** For DW_TAG_variable: the location was DW_OP_addrx (resolved after the CU is read). */
  addrx?: number;
  lowPcx?: number;
}

const cache = new WeakMap<WasmModule, DwarfInfo>();

function section(m: WasmModule, name: string): Uint8Array | null {
  for (const c of m.customs) {
    if (c.name !== name) continue;
    // content after the section name
    const r = new ByteReader(m.bytes, c.contentStart, c.end);
    r.name();
    return m.bytes.subarray(r.pos, c.end);
  }
  return null;
}

function cstr(b: Uint8Array, at: number): string {
  let e = at;
  while (e < b.length && b[e] !== 0) e++;
  return new TextDecoder().decode(b.subarray(at, e));
}

function readAbbrevs(abbrev: Uint8Array, offset: number): Map<number, Abbrev> {
  const r = new ByteReader(abbrev, offset, abbrev.length);
  r.what = '.debug_abbrev';
  const out = new Map<number, Abbrev>();
  for (;;) {
    const code = r.u64();
    if (code === 0) break;
    const tag = r.u64();
    const children = r.u8() === 1;
    const attrs: number[] = [];
    for (;;) {
      const at = r.u64();
      const form = r.u64();
      if (at === 0 && form === 0) break;
      const implicit = form === 0x21 ? Number(r.s64()) : 0;
      attrs.push(at, form, implicit);
    }
    out.set(code, { tag, children, attrs });
  }
  return out;
}

/** Reads DWARF from a module (cached). Never throws. */
export function readDwarf(m: WasmModule): DwarfInfo {
  const hit = cache.get(m);
  if (hit) return hit;
  const info: DwarfInfo = { variables: [], functions: [], warnings: [] };
  cache.set(m, info);
  const debugInfo = section(m, '.debug_info');
  const abbrev = section(m, '.debug_abbrev');
  if (!debugInfo || !abbrev) return info;
  const str = section(m, '.debug_str');
  const lineStr = section(m, '.debug_line_str');
  const strOffsets = section(m, '.debug_str_offsets');
  const debugAddr = section(m, '.debug_addr');
  let pos = 0;
  while (pos + 11 <= debugInfo.length) {
    const unitStart = pos;
    let unitEnd = debugInfo.length;
    try {
      const r = new ByteReader(debugInfo, pos, debugInfo.length);
      r.what = '.debug_info';
      const len = r.u8() | (r.u8() << 8) | (r.u8() << 16) | (r.u8() << 24);
      if (len >>> 0 >= 0xfffffff0) {
        info.warnings.push('64-bit DWARF is not supported; debug info ignored');
        break;
      }
      unitEnd = r.pos + (len >>> 0);
      if (unitEnd > debugInfo.length) throw new Error('truncated unit');
      r.end = unitEnd;
      const version = r.u8() | (r.u8() << 8);
      let abbrevOff: number;
      let addrSize: number;
      if (version >= 5) {
        const unitType = r.u8();
        addrSize = r.u8();
        abbrevOff = u32(r);
        if (unitType === 2 || unitType === 6) r.skip(12);
        else if (unitType === 4 || unitType === 5) r.skip(8);
      } else if (version >= 2) {
        abbrevOff = u32(r);
        addrSize = r.u8();
      } else throw new Error(`DWARF version ${version}`);
      readUnit(r, unitStart, version, addrSize, readAbbrevs(abbrev, abbrevOff), info,
        { str, lineStr, strOffsets, debugAddr });
    } catch (e) {
      info.warnings.push(`skipped a DWARF unit at .debug_info+0x${unitStart.toString(16)}: ${(e as Error).message}`);
    }
    pos = unitEnd;
  }
  return info;
}

function u32(r: ByteReader): number {
  return (r.u8() | (r.u8() << 8) | (r.u8() << 16) | (r.u8() << 24)) >>> 0;
}

function uN(r: ByteReader, n: number): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < n; i++) {
    v += r.u8() * mul;
    mul *= 256;
  }
  return v;
}

interface Strs {
  str: Uint8Array | null;
  lineStr: Uint8Array | null;
  strOffsets: Uint8Array | null;
  debugAddr: Uint8Array | null;
}

function readUnit(r: ByteReader, unitStart: number, version: number, addrSize: number,
  abbrevs: Map<number, Abbrev>, info: DwarfInfo, s: Strs): void {
  const dies = new Map<number, Die>();
  const vars: Die[] = [];
  const funcs: Die[] = [];
  let strOffBase = 8;
  let addrBase = 8;
  const pendingStrx: Array<[Die, 'name' | 'linkage', number]> = [];
  const parents: Die[] = [];
  while (r.pos < r.end) {
    const dieOff = r.pos;
    const code = r.u64();
    if (code === 0) {
      parents.pop();
      continue;
    }
    const ab = abbrevs.get(code);
    if (!ab) throw new Error(`unknown abbreviation ${code}`);
    const die: Die = { tag: ab.tag };
    const a = ab.attrs;
    for (let i = 0; i < a.length; i += 3) {
      const at = a[i]!;
      let form = a[i + 1]!;
      if (form === 0x16) form = r.u64();
      let num = 0;
      let text: string | undefined;
      let isRef = false;
      let strx = -1;
      let addrx = -1;
      let exprStart = -1;
      let exprLen = 0;
      switch (form) {
        case 0x01: num = uN(r, addrSize); break;
        case 0x03: exprLen = r.u8() | (r.u8() << 8); exprStart = r.pos; r.skip(exprLen); break;
        case 0x04: exprLen = u32(r); exprStart = r.pos; r.skip(exprLen); break;
        case 0x05: num = uN(r, 2); break;
        case 0x06: num = u32(r); break;
        case 0x07: num = uN(r, 8); break;
        case 0x08: {
          const st = r.pos;
          while (r.u8() !== 0) { /* scan */ }
          text = new TextDecoder().decode(r.bytes.subarray(st, r.pos - 1));
          break;
        }
        case 0x09: exprLen = r.u32(); exprStart = r.pos; r.skip(exprLen); break;
        case 0x0a: exprLen = r.u8(); exprStart = r.pos; r.skip(exprLen); break;
        case 0x0b: num = r.u8(); break;
        case 0x0c: num = r.u8(); break;
        case 0x0d: num = Number(r.s64()); break;
        case 0x0e: { const o = u32(r); text = s.str ? cstr(s.str, o) : undefined; break; }
        case 0x0f: num = r.u64(); break;
        case 0x10: num = version <= 2 ? uN(r, addrSize) : u32(r); isRef = true; num -= unitStart; break;
        case 0x11: num = r.u8(); isRef = true; break;
        case 0x12: num = uN(r, 2); isRef = true; break;
        case 0x13: num = u32(r); isRef = true; break;
        case 0x14: num = uN(r, 8); isRef = true; break;
        case 0x15: num = r.u64(); isRef = true; break;
        case 0x17: num = u32(r); break;
        case 0x18: exprLen = r.u32(); exprStart = r.pos; r.skip(exprLen); break;
        case 0x19: num = 1; break;
        case 0x1a: strx = r.u64(); break;
        case 0x1b: addrx = r.u64(); break;
        case 0x1c: r.skip(4); break;
        case 0x1d: r.skip(4); break;
        case 0x1e: r.skip(16); break;
        case 0x1f: { const o = u32(r); text = s.lineStr ? cstr(s.lineStr, o) : undefined; break; }
        case 0x20: r.skip(8); break;
        case 0x21: num = a[i + 2]!; break;
        case 0x22: case 0x23: r.u64(); break;
        case 0x24: r.skip(8); break;
        case 0x25: strx = r.u8(); break;
        case 0x26: strx = uN(r, 2); break;
        case 0x27: strx = uN(r, 3); break;
        case 0x28: strx = u32(r); break;
        case 0x29: addrx = r.u8(); break;
        case 0x2a: addrx = uN(r, 2); break;
        case 0x2b: addrx = uN(r, 3); break;
        case 0x2c: addrx = u32(r); break;
        default: throw new Error(`unknown DWARF form 0x${form.toString(16)}`);
      }
      const ref = isRef ? unitStart + num : -1;
      switch (at) {
        case AT_NAME:
          if (text !== undefined) die.name = text;
          else if (strx >= 0) pendingStrx.push([die, 'name', strx]);
          break;
        case AT_LINKAGE_NAME: case AT_MIPS_LINKAGE_NAME:
          if (text !== undefined) die.linkage = text;
          else if (strx >= 0) pendingStrx.push([die, 'linkage', strx]);
          break;
        case AT_TYPE: if (ref >= 0) die.type = ref; break;
        case AT_SPECIFICATION: if (ref >= 0) die.spec = ref; break;
        case AT_ABSTRACT_ORIGIN: if (ref >= 0) die.origin = ref; break;
        case AT_BYTE_SIZE: die.byteSize = num; break;
        case AT_COUNT: die.count = num; break;
        case AT_UPPER_BOUND: die.upper = num; break;
        case AT_LOWER_BOUND: die.lower = num; break;
        case AT_LOW_PC:
          if (addrx >= 0) die.lowPcx = addrx;
          else die.lowPc = num;
          break;
        case AT_HIGH_PC:
          die.highPc = num;
          die.highIsOffset = form !== 0x01 && form !== 0x1b && !(form >= 0x29 && form <= 0x2c);
          break;
        case AT_LOCATION:
          if (exprStart >= 0 && exprLen === 1 + addrSize && r.bytes[exprStart] === 0x03) {
            const er = new ByteReader(r.bytes, exprStart + 1, exprStart + exprLen);
            die.addr = uN(er, addrSize);
          } else if (exprStart >= 0 && r.bytes[exprStart] === 0xa1) {
            const er = new ByteReader(r.bytes, exprStart + 1, exprStart + exprLen);
            const idx = er.u64();
            if (er.pos === exprStart + exprLen) die.addrx = idx;
          }
          break;
        case AT_STR_OFFSETS_BASE: strOffBase = num; break;
        case AT_ADDR_BASE: addrBase = num; break;
      }
    }
    dies.set(dieOff, die);
    if (die.tag === TAG_SUBRANGE) {
      const p = parents[parents.length - 1];
      if (p && p.tag === TAG_ARRAY) (p.subranges ??= []).push(die);
    } else if (die.tag === TAG_VARIABLE) vars.push(die);
    else if (die.tag === TAG_SUBPROGRAM) funcs.push(die);
    if (ab.children) {
      parents.push(die);
    }
  }
  // DWARF 5 indirections.
  for (const [die, which, idx] of pendingStrx) {
    if (!s.strOffsets || !s.str) continue;
    const o = strOffBase + idx * 4;
    if (o + 4 > s.strOffsets.length) continue;
    const so = s.strOffsets;
    const off = (so[o]! | (so[o + 1]! << 8) | (so[o + 2]! << 16) | (so[o + 3]! << 24)) >>> 0;
    const t = cstr(s.str, off);
    if (which === 'name') die.name = t;
    else die.linkage = t;
  }
  const addrAt = (idx: number): number | undefined => {
    if (!s.debugAddr) return undefined;
    const o = addrBase + idx * addrSize;
    if (o + addrSize > s.debugAddr.length) return undefined;
    let v = 0;
    let mul = 1;
    for (let i = 0; i < addrSize; i++) {
      v += s.debugAddr[o + i]! * mul;
      mul *= 256;
    }
    return v;
  };
  const resolve = (d: Die, key: 'name' | 'linkage' | 'type'): string | number | undefined => {
    let cur: Die | undefined = d;
    for (let hops = 0; cur && hops < 8; hops++) {
      const v = cur[key];
      if (v !== undefined) return v;
      const next: number | undefined = cur.spec ?? cur.origin;
      cur = next !== undefined ? dies.get(next) : undefined;
    }
    return undefined;
  };
  const cu = dies.values().next().value as Die | undefined;
  const unitName = cu?.name ?? '';
  for (const v of vars) {
    let addr = v.addr;
    if (addr === undefined && v.addrx !== undefined) addr = addrAt(v.addrx);
    if (addr === undefined) continue;
    const name = (resolve(v, 'name') as string | undefined) ?? (resolve(v, 'linkage') as string | undefined) ?? '';
    const type = resolve(v, 'type') as number | undefined;
    const { size, isConst } = typeFacts(dies, type, addrSize);
    info.variables.push({ name, address: addr, size, isConst, unit: unitName });
  }
  for (const f of funcs) {
    let low = f.lowPc;
    if (low === undefined && f.lowPcx !== undefined) low = addrAt(f.lowPcx);
    if (low === undefined || low === 0) continue;
    const high = f.highPc === undefined ? low : f.highIsOffset ? low + f.highPc : f.highPc;
    const name = (resolve(f, 'name') as string | undefined) ?? '';
    const linkage = (resolve(f, 'linkage') as string | undefined) ?? name;
    if (!name && !linkage) continue;
    info.functions.push({ name, linkageName: linkage, lowPc: low, highPc: high });
  }
}

function typeFacts(dies: Map<number, Die>, type: number | undefined, addrSize: number): { size: number; isConst: boolean } {
  let isConst = false;
  const sizeOf = (t: number | undefined, depth: number): number => {
    if (t === undefined || depth > 32) return 0;
    const d = dies.get(t);
    if (!d) return 0;
    switch (d.tag) {
      case TAG_CONST:
        isConst = true;
        return sizeOf(d.type, depth + 1);
      case TAG_TYPEDEF: case TAG_VOLATILE: case TAG_RESTRICT: case TAG_ATOMIC:
        return d.byteSize ?? sizeOf(d.type, depth + 1);
      case TAG_POINTER: case TAG_REFERENCE: case TAG_RVALUE_REF:
        return d.byteSize ?? addrSize;
      case TAG_PTR_TO_MEMBER:
        return d.byteSize ?? addrSize;
      case TAG_BASE: case TAG_STRUCT: case TAG_UNION: case TAG_CLASS: case TAG_ENUM:
        return d.byteSize ?? (d.tag === TAG_ENUM ? sizeOf(d.type, depth + 1) : 0);
      case TAG_ARRAY: {
        const elem = sizeOf(d.type, depth + 1);
        if (d.byteSize !== undefined) return d.byteSize;
        let n = 1;
        for (const sr of d.subranges ?? []) {
          if (sr.count !== undefined) n *= sr.count;
          else if (sr.upper !== undefined) n *= sr.upper - (sr.lower ?? 0) + 1;
          else n = 0;
        }
        return elem * n;
      }
      case TAG_SUBROUTINE_TYPE:
        return 0;
      default:
        return d.byteSize ?? 0;
    }
  };
  const size = sizeOf(type, 0);
  return { size, isConst };
}

/**
 * Function name (mangled when DWARF has a linkage name, and also the plain name) -> function
 * index, from DWARF subprograms whose low_pc lands on a function body's start.
 */
export function dwarfFunctionNames(m: WasmModule): Map<string, number> {
  const out = new Map<string, number>();
  const dw = readDwarf(m);
  if (!dw.functions.length) return out;
  const code = m.sections.find((s) => s.id === SEC_CODE);
  if (!code) return out;
  const byStart = new Map<number, number>();
  for (const b of m.bodies) byStart.set(b.bodyStart - code.contentStart, b.index);
  for (const f of dw.functions) {
    const idx = byStart.get(f.lowPc);
    if (idx === undefined) continue;
    if (f.linkageName && !out.has(f.linkageName)) out.set(f.linkageName, idx);
    if (f.name && !out.has(f.name)) out.set(f.name, idx);
  }
  return out;
}
