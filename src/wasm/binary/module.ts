/**
 * parseModule: the module structure of a wasm binary, every section with its byte range.
 *
 * Why: the rewriter, the static layout and (through the runtime) the symbolizer all start from
 * this one decode. It decodes what they need (types, imports, functions, tables, memories,
 * globals with init exprs, exports, start, elements, data segments with active offsets, code
 * bodies with locals, custom sections and the name section) and validates structure only as far
 * as decoding needs; it does not type-check code (WebAssembly.validate does that).
 *
 * Invariant: any malformed or truncated input throws WasmFormatError with a one-line message;
 * a success means every range lies inside the input.
 */
import { ByteReader } from './bytes.js';
import { WasmFormatError, WasmUnsupportedError, hex } from './errors.js';
import { decodeInstr, Instr } from './instructions.js';
import { decodeNames } from './names.js';
import {
  type ConstExpr, type ConstValue, type DataSegment, type ElementSegment, type FuncType,
  type FunctionBody, type GlobalType, type MemoryType, type Section, type TableType, type WasmModule,
  type LocalGroup,
  SEC_CUSTOM, SEC_TYPE, SEC_IMPORT, SEC_FUNCTION, SEC_TABLE, SEC_MEMORY, SEC_GLOBAL, SEC_EXPORT,
  SEC_START, SEC_ELEMENT, SEC_CODE, SEC_DATA, SEC_DATACOUNT, SEC_TAG,
  KIND_FUNC, KIND_TABLE, KIND_MEMORY, KIND_GLOBAL, KIND_TAG,
} from './types.js';

const SECTION_NAMES = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export',
  'start', 'element', 'code', 'data', 'datacount', 'tag'];

/** Canonical order of known sections (the tag section sits between memory and global). */
export const SECTION_ORDER: Record<number, number> = {
  [SEC_TYPE]: 1, [SEC_IMPORT]: 2, [SEC_FUNCTION]: 3, [SEC_TABLE]: 4, [SEC_MEMORY]: 5, [SEC_TAG]: 6,
  [SEC_GLOBAL]: 7, [SEC_EXPORT]: 8, [SEC_START]: 9, [SEC_ELEMENT]: 10, [SEC_DATACOUNT]: 11,
  [SEC_CODE]: 12, [SEC_DATA]: 13,
};

export function sectionName(id: number): string {
  return SECTION_NAMES[id] ?? `unknown(${id})`;
}

function readValType(r: ByteReader): number {
  const b = r.u8();
  if (b === 0x63 || b === 0x64) r.s33();
  return b;
}

function readLimits(r: ByteReader, allowShared: boolean): MemoryType {
  const at = r.pos;
  const flags = r.u8();
  if (flags & ~0x07 || (!allowShared && flags & 0x02)) r.fail(`bad limits flags ${hex(flags)}`, at);
  const memory64 = (flags & 0x04) !== 0;
  const min = memory64 ? r.u64() : r.u32();
  const max = flags & 0x01 ? (memory64 ? r.u64() : r.u32()) : null;
  return { min, max, shared: (flags & 0x02) !== 0, memory64 };
}

function readTableType(r: ByteReader): TableType {
  const refType = readValType(r);
  const l = readLimits(r, false);
  return { refType, min: l.min, max: l.max };
}

function readGlobalType(r: ByteReader): GlobalType {
  const valType = readValType(r);
  const m = r.u8();
  if (m > 1) r.fail(`bad global mutability ${m}`, r.pos - 1);
  return { valType, mutable: m === 1 };
}

/** Reads a constant expression up to and including its `end`. */
export function readConstExpr(r: ByteReader, ins: Instr): ConstExpr {
  const start = r.pos;
  let value: ConstValue = { kind: 'other' };
  let count = 0;
  for (;;) {
    const at = r.pos;
    decodeInstr(r, ins);
    if (ins.op === 0x0b) break;
    count++;
    if (count === 1) {
      switch (ins.op) {
        case 0x41: value = { kind: 'i32', value: ins.i32 }; break;
        case 0x42: {
          const rr = new ByteReader(r.bytes, ins.immStart, ins.end);
          value = { kind: 'i64', value: rr.s64() };
          break;
        }
        case 0x23: value = { kind: 'global.get', index: ins.index }; break;
        case 0xd2: value = { kind: 'ref.func', index: ins.index }; break;
        case 0xd0: value = { kind: 'ref.null' }; break;
        default: value = { kind: 'other' };
      }
    } else {
      value = { kind: 'other' };
    }
    if (r.pos >= r.end && at < r.end) r.truncated();
  }
  return { start, end: r.pos, value };
}

function emptyModule(bytes: Uint8Array): WasmModule {
  return {
    bytes, sections: [], types: [], imports: [], importedFuncCount: 0, importedTableCount: 0,
    importedMemoryCount: 0, importedGlobalCount: 0, importedTagCount: 0, functions: [], tables: [],
    memories: [], globals: [], exports: [], start: null, elements: [], dataCount: null, data: [],
    bodies: [], tags: [], customs: [], names: null, warnings: [],
  };
}

/** Decodes a module. Throws WasmFormatError on malformed input. */
export function parseModule(bytes: Uint8Array): WasmModule {
  if (!(bytes instanceof Uint8Array)) throw new WasmFormatError('not a wasm module (not a byte array)');
  if (bytes.length < 4 || bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new WasmFormatError('not a wasm module (bad magic)', 0);
  }
  if (bytes.length < 8) throw new WasmFormatError('truncated module header at offset 0x4', 4);
  const version = bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24);
  if (version !== 1) {
    if ((version & 0xffff) === 0x0d) throw new WasmUnsupportedError('wasm component, not a core module (version 0xd)', 4);
    throw new WasmFormatError(`unsupported wasm version ${version >>> 0}`, 4);
  }
  const m = emptyModule(bytes);
  const r = new ByteReader(bytes, 8, bytes.length);
  const ins = new Instr();
  let lastOrder = 0;
  let functionCount: number | null = null;
  while (r.pos < bytes.length) {
    const start = r.pos;
    r.what = 'section header';
    const id = r.u8();
    const size = r.u32();
    const contentStart = r.pos;
    const end = contentStart + size;
    if (end > bytes.length) {
      throw new WasmFormatError(`truncated ${sectionName(id)} section at offset ${hex(start)}`, start);
    }
    const sec: Section = { id, start, contentStart, end };
    const s = new ByteReader(bytes, contentStart, end);
    s.what = `${sectionName(id)} section`;
    if (id !== SEC_CUSTOM) {
      const order = SECTION_ORDER[id];
      if (order === undefined) throw new WasmFormatError(`unknown section id ${id} at offset ${hex(start)}`, start);
      if (order <= lastOrder) {
        throw new WasmFormatError(`${sectionName(id)} section out of order or duplicated at offset ${hex(start)}`, start);
      }
      lastOrder = order;
    }
    switch (id) {
      case SEC_CUSTOM: {
        sec.name = s.name();
        m.customs.push(sec);
        if (sec.name === 'name') {
          try {
            m.names = decodeNames(bytes, s.pos, end);
          } catch (e) {
            if (!(e instanceof WasmFormatError)) throw e;
            m.warnings.push(`ignored malformed name section: ${e.message}`);
          }
        }
        s.pos = end;
        break;
      }
      case SEC_TYPE: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const at = s.pos;
          const form = s.u8();
          if (form !== 0x60) {
            if (form === 0x4e || form === 0x50 || form === 0x4f) {
              throw new WasmUnsupportedError(`unsupported GC type definition at offset ${hex(at)}`, at);
            }
            s.fail(`bad type form ${hex(form)}`, at);
          }
          const np = s.u32();
          const params: number[] = [];
          for (let j = 0; j < np; j++) params.push(readValType(s));
          const nr = s.u32();
          const results: number[] = [];
          for (let j = 0; j < nr; j++) results.push(readValType(s));
          m.types.push({ params, results } satisfies FuncType);
        }
        break;
      }
      case SEC_IMPORT: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const at = s.pos;
          const module = s.name();
          const name = s.name();
          const kind = s.u8();
          const imp = { module, name, kind, typeIndex: -1, start: at, end: 0 } as WasmModule['imports'][number];
          switch (kind) {
            case KIND_FUNC: imp.typeIndex = s.u32(); m.importedFuncCount++; break;
            case KIND_TABLE: imp.table = readTableType(s); m.importedTableCount++; break;
            case KIND_MEMORY: imp.memory = readLimits(s, true); m.importedMemoryCount++; break;
            case KIND_GLOBAL: imp.global = readGlobalType(s); m.importedGlobalCount++; break;
            case KIND_TAG: s.u8(); imp.typeIndex = s.u32(); m.importedTagCount++; break;
            default: s.fail(`bad import kind ${kind}`, s.pos - 1);
          }
          imp.end = s.pos;
          m.imports.push(imp);
        }
        break;
      }
      case SEC_FUNCTION: {
        const n = s.u32();
        for (let i = 0; i < n; i++) m.functions.push(s.u32());
        functionCount = n;
        break;
      }
      case SEC_TABLE: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          if (s.bytes[s.pos] === 0x40) {
            throw new WasmUnsupportedError(`unsupported table with initializer at offset ${hex(s.pos)}`, s.pos);
          }
          m.tables.push(readTableType(s));
        }
        break;
      }
      case SEC_MEMORY: {
        const n = s.u32();
        for (let i = 0; i < n; i++) m.memories.push(readLimits(s, true));
        break;
      }
      case SEC_TAG: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          s.u8();
          m.tags.push(s.u32());
        }
        break;
      }
      case SEC_GLOBAL: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const at = s.pos;
          const type = readGlobalType(s);
          const init = readConstExpr(s, ins);
          m.globals.push({ index: m.importedGlobalCount + i, type, init, start: at, end: s.pos });
        }
        break;
      }
      case SEC_EXPORT: {
        const n = s.u32();
        for (let i = 0; i < n; i++) {
          const at = s.pos;
          const name = s.name();
          const kind = s.u8();
          if (kind > 4) s.fail(`bad export kind ${kind}`, s.pos - 1);
          const index = s.u32();
          m.exports.push({ name, kind, index, start: at, end: s.pos });
        }
        break;
      }
      case SEC_START:
        m.start = s.u32();
        break;
      case SEC_ELEMENT: {
        const n = s.u32();
        for (let i = 0; i < n; i++) m.elements.push(readElement(s, ins));
        break;
      }
      case SEC_DATACOUNT:
        m.dataCount = s.u32();
        break;
      case SEC_CODE: {
        const n = s.u32();
        if (functionCount === null ? n !== 0 : n !== functionCount) {
          throw new WasmFormatError(
            `function and code section counts differ (${functionCount ?? 0} vs ${n}) at offset ${hex(start)}`, start);
        }
        for (let i = 0; i < n; i++) m.bodies.push(readBody(s, m.importedFuncCount + i));
        break;
      }
      case SEC_DATA: {
        const n = s.u32();
        for (let i = 0; i < n; i++) m.data.push(readData(s, ins, i));
        break;
      }
    }
    if (s.pos !== end) {
      throw new WasmFormatError(`${sectionName(id)} section size mismatch at offset ${hex(start)}`, start);
    }
    m.sections.push(sec);
    r.pos = end;
  }
  if (functionCount !== null && functionCount > 0 && m.bodies.length === 0) {
    throw new WasmFormatError('function section without code section', bytes.length);
  }
  for (const t of m.functions) {
    if (t >= m.types.length) throw new WasmFormatError(`function type index ${t} out of range`);
  }
  return m;
}

function readElement(s: ByteReader, ins: Instr): ElementSegment {
  const start = s.pos;
  const flags = s.u32();
  if (flags > 7) s.fail(`bad element segment flags ${flags}`, start);
  const passiveOrDecl = (flags & 1) !== 0;
  const explicitTable = (flags & 2) !== 0;
  const usesExprs = (flags & 4) !== 0;
  let mode: ElementSegment['mode'] = 'active';
  if (passiveOrDecl) mode = explicitTable ? 'declarative' : 'passive';
  let table = 0;
  let offset: ConstExpr | null = null;
  if (!passiveOrDecl) {
    if (explicitTable) table = s.u32();
    offset = readConstExpr(s, ins);
  }
  let type = usesExprs ? 0x70 : 0x00;
  if (passiveOrDecl || explicitTable) type = usesExprs ? readValType(s) : s.u8();
  const n = s.u32();
  let funcIndices: number[] | null = null;
  let exprs: ConstExpr[] | null = null;
  if (usesExprs) {
    exprs = [];
    for (let i = 0; i < n; i++) exprs.push(readConstExpr(s, ins));
  } else {
    funcIndices = [];
    for (let i = 0; i < n; i++) funcIndices.push(s.u32());
  }
  return { flags, mode, table, offset, type, funcIndices, exprs, start, end: s.pos };
}

function readData(s: ByteReader, ins: Instr, index: number): DataSegment {
  const start = s.pos;
  const flags = s.u32();
  let memory = 0;
  let offset: ConstExpr | null = null;
  let mode: DataSegment['mode'] = 'active';
  if (flags === 1) mode = 'passive';
  else if (flags === 0 || flags === 2) {
    if (flags === 2) memory = s.u32();
    offset = readConstExpr(s, ins);
  } else s.fail(`bad data segment flags ${flags}`, start);
  const len = s.u32();
  const dataStart = s.range(len);
  return { index, mode, memory, offset, dataStart, dataEnd: dataStart + len, start, end: s.pos };
}

function readBody(s: ByteReader, index: number): FunctionBody {
  const start = s.pos;
  const size = s.u32();
  const bodyStart = s.pos;
  const end = bodyStart + size;
  if (end > s.end) throw new WasmFormatError(`truncated function body at offset ${hex(start)}`, start);
  const b = new ByteReader(s.bytes, bodyStart, end);
  b.what = 'function body';
  const groups = b.u32();
  const locals: LocalGroup[] = [];
  let localCount = 0;
  for (let i = 0; i < groups; i++) {
    const count = b.u32();
    const type = readValType(b);
    localCount += count;
    if (localCount > 50000) b.fail('too many locals');
    locals.push({ count, type });
  }
  if (b.pos >= end) b.truncated();
  if (s.bytes[end - 1] !== 0x0b) {
    throw new WasmFormatError(`function body does not end with 'end' at offset ${hex(end - 1)}`, end - 1);
  }
  s.pos = end;
  return { index, start, bodyStart, codeStart: b.pos, end, locals, localCount };
}

/** Type index of function `f` (index space, imports first), or -1 when out of range. */
export function funcTypeIndex(m: WasmModule, f: number): number {
  if (f < m.importedFuncCount) {
    let k = 0;
    for (const imp of m.imports) {
      if (imp.kind !== KIND_FUNC) continue;
      if (k === f) return imp.typeIndex;
      k++;
    }
    return -1;
  }
  return m.functions[f - m.importedFuncCount] ?? -1;
}

export function funcType(m: WasmModule, f: number): FuncType | null {
  const t = funcTypeIndex(m, f);
  return t >= 0 ? m.types[t] ?? null : null;
}

/** Total number of functions (imported and defined). */
export function functionCount(m: WasmModule): number {
  return m.importedFuncCount + m.functions.length;
}

/** The body of defined function `f`, or null for an import. */
export function bodyOf(m: WasmModule, f: number): FunctionBody | null {
  return m.bodies[f - m.importedFuncCount] ?? null;
}

/** The type of global `g` (index space), or null. */
export function globalType(m: WasmModule, g: number): GlobalType | null {
  if (g < m.importedGlobalCount) {
    let k = 0;
    for (const imp of m.imports) {
      if (imp.kind !== KIND_GLOBAL) continue;
      if (k === g) return imp.global!;
      k++;
    }
    return null;
  }
  return m.globals[g - m.importedGlobalCount]?.type ?? null;
}

/** Memory 0's type, imported or defined, or null when the module has no memory. */
export function memory0(m: WasmModule): MemoryType | null {
  for (const imp of m.imports) if (imp.kind === KIND_MEMORY) return imp.memory!;
  return m.memories[0] ?? null;
}
