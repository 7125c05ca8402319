/**
 * Decoder for DWARF line-number programs (.debug_line), versions 2 to 5, as LLVM 14 emits them
 * for wasm (DWARF 4 by default, DWARF 5 with -gdwarf-5, 4-byte addresses).
 *
 * Why our own: no maintained JS library decodes DWARF line tables. The output is checked row for
 * row against `llvm-dwarfdump-14 --debug-line` (test/symbolize/dwarf-line.test.ts).
 *
 * Invariants:
 *  - `decodeLineTable` never throws; a corrupt program yields the rows decoded before the damage,
 *    and `complete` is false.
 *  - Rows are stored column-wise in typed arrays (no object per row).
 *  - Like llvm-dwarfdump, the rows of a sequence whose first address is the tombstone (the
 *    all-ones address wasm-ld writes for discarded functions) are dropped.
 */
import { cstrAt, Malformed, Reader } from './reader.js';

export const ROW_IS_STMT = 1;
export const ROW_BASIC_BLOCK = 2;
export const ROW_END_SEQUENCE = 4;
export const ROW_PROLOGUE_END = 8;
export const ROW_EPILOGUE_BEGIN = 16;

export interface LineFile {
  name: string;
  dir: number;
}

export interface LineTable {
  /** Offset of this table in .debug_line. */
  offset: number;
  version: number;
  addressSize: number;
  /** include_directories: index 0 is the compilation directory in DWARF 5 (in 4 it is implicit). */
  dirs: string[];
  /** file_names, indexed as the program's DW_LNS_set_file operands are (from 1 in DWARF 2-4). */
  files: (LineFile | null)[];
  rowCount: number;
  address: Float64Array;
  line: Uint32Array;
  column: Uint32Array;
  file: Uint32Array;
  discriminator: Uint32Array;
  isa: Uint32Array;
  flags: Uint8Array;
  /** False when decoding stopped early on malformed input. */
  complete: boolean;
}

class Rows {
  n = 0;
  address = new Float64Array(64);
  line = new Uint32Array(64);
  column = new Uint32Array(64);
  file = new Uint32Array(64);
  discriminator = new Uint32Array(64);
  isa = new Uint32Array(64);
  flags = new Uint8Array(64);

  push(address: number, line: number, column: number, file: number, disc: number, isa: number, flags: number): void {
    if (this.n === this.address.length) this.grow();
    const i = this.n++;
    this.address[i] = address;
    this.line[i] = line;
    this.column[i] = column;
    this.file[i] = file;
    this.discriminator[i] = disc;
    this.isa[i] = isa;
    this.flags[i] = flags;
  }

  private grow(): void {
    const cap = this.address.length * 2;
    const g = <T extends Float64Array | Uint32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.address = g(this.address, (n) => new Float64Array(n));
    this.line = g(this.line, (n) => new Uint32Array(n));
    this.column = g(this.column, (n) => new Uint32Array(n));
    this.file = g(this.file, (n) => new Uint32Array(n));
    this.discriminator = g(this.discriminator, (n) => new Uint32Array(n));
    this.isa = g(this.isa, (n) => new Uint32Array(n));
    this.flags = g(this.flags, (n) => new Uint8Array(n));
  }
}

export interface StringSections {
  str?: Uint8Array;
  lineStr?: Uint8Array;
}

// DWARF 5 line table entry formats.
const DW_LNCT_path = 1;
const DW_LNCT_directory_index = 2;

/**
 * Decodes the line table at `offset`. `addressSize` is used for DWARF < 5 (whose header does not
 * carry it): pass the compile unit's address size (4 for wasm32).
 */
export function decodeLineTable(
  section: Uint8Array,
  offset: number,
  addressSize: number,
  strings: StringSections = {},
): LineTable | null {
  const rows = new Rows();
  const table: LineTable = {
    offset,
    version: 0,
    addressSize,
    dirs: [],
    files: [],
    rowCount: 0,
    address: rows.address,
    line: rows.line,
    column: rows.column,
    file: rows.file,
    discriminator: rows.discriminator,
    isa: rows.isa,
    flags: rows.flags,
    complete: false,
  };
  let end = 0;
  try {
    const r = new Reader(section, offset);
    let unitLength = r.u32();
    let offsetSize = 4;
    if (unitLength === 0xffffffff) {
      unitLength = r.u64();
      offsetSize = 8;
    } else if (unitLength >= 0xfffffff0) {
      return null;
    }
    end = r.pos + unitLength;
    if (end > section.length) end = section.length;
    const h = new Reader(section, r.pos, end);
    const version = h.u16();
    if (version < 2 || version > 5) return null;
    table.version = version;
    if (version >= 5) {
      table.addressSize = h.u8();
      h.u8(); // segment selector size
    }
    const headerLength = h.uN(offsetSize);
    const programStart = h.pos + headerLength;
    const minInst = h.u8();
    const maxOps = version >= 4 ? h.u8() || 1 : 1;
    const defaultIsStmt = h.u8() !== 0;
    const lineBase = (h.u8() << 24) >> 24;
    const lineRange = h.u8();
    const opcodeBase = h.u8();
    const stdLengths: number[] = [];
    for (let i = 1; i < opcodeBase; i++) stdLengths.push(h.u8());
    if (version >= 5) {
      table.dirs = readEntries(h, offsetSize, strings).map((e) => e.name);
      table.files = readEntries(h, offsetSize, strings);
    } else {
      for (;;) {
        const dir = h.cstr();
        if (dir === '') break;
        table.dirs.push(dir);
      }
      // Directory indexes in DWARF 2-4 count from 1; keep dirs[0] for the compilation directory.
      table.dirs.unshift('');
      table.files.push(null);
      for (;;) {
        const name = h.cstr();
        if (name === '') break;
        const dir = h.uleb();
        h.uleb(); // modification time
        h.uleb(); // length
        table.files.push({ name, dir });
      }
    }
    const p = new Reader(section, programStart, end);
    runProgram(p, table, rows, { minInst, maxOps, defaultIsStmt, lineBase, lineRange, opcodeBase, stdLengths });
    table.complete = true;
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
  }
  table.rowCount = rows.n;
  table.address = rows.address;
  table.line = rows.line;
  table.column = rows.column;
  table.file = rows.file;
  table.discriminator = rows.discriminator;
  table.isa = rows.isa;
  table.flags = rows.flags;
  return table;
}

function readEntries(h: Reader, offsetSize: number, strings: StringSections): LineFile[] {
  const formatCount = h.u8();
  const formats: [number, number][] = [];
  for (let i = 0; i < formatCount; i++) formats.push([h.uleb(), h.uleb()]);
  const count = h.uleb();
  const out: LineFile[] = [];
  for (let i = 0; i < count; i++) {
    let name = '';
    let dir = 0;
    for (const [type, form] of formats) {
      const v = readLineForm(h, form, offsetSize, strings);
      if (type === DW_LNCT_path && typeof v === 'string') name = v;
      else if (type === DW_LNCT_directory_index && typeof v === 'number') dir = v;
    }
    out.push({ name, dir });
  }
  return out;
}

/** The forms DWARF 5 allows in line table entry formats. */
function readLineForm(h: Reader, form: number, offsetSize: number, strings: StringSections): string | number | null {
  switch (form) {
    case 0x08: return h.cstr(); // string
    case 0x0e: return cstrAt(strings.str, h.uN(offsetSize)); // strp
    case 0x1f: return cstrAt(strings.lineStr, h.uN(offsetSize)); // line_strp
    case 0x0b: return h.u8(); // data1
    case 0x05: return h.u16(); // data2
    case 0x06: return h.u32(); // data4
    case 0x07: return h.u64(); // data8
    case 0x0f: return h.uleb(); // udata
    case 0x1e: h.skip(16); return null; // data16 (MD5)
    case 0x09: h.skip(h.uleb()); return null; // block
    case 0x1a: h.uleb(); return null; // strx: needs the unit's str_offsets_base; not used by LLVM here
    case 0x25: h.u8(); return null; // strx1
    case 0x26: h.u16(); return null; // strx2
    case 0x27: h.u24(); return null; // strx3
    case 0x28: h.u32(); return null; // strx4
    default: throw new Malformed(`line table form ${form}`);
  }
}

interface Params {
  minInst: number;
  maxOps: number;
  defaultIsStmt: boolean;
  lineBase: number;
  lineRange: number;
  opcodeBase: number;
  stdLengths: number[];
}

function runProgram(p: Reader, table: LineTable, rows: Rows, k: Params): void {
  const tombstone = table.addressSize === 8 ? 0xffffffffffffffff : table.addressSize === 2 ? 0xffff : 0xffffffff;
  let address = 0, opIndex = 0, file = 1, line = 1, column = 0, isa = 0, disc = 0;
  let isStmt = k.defaultIsStmt;
  let extra = 0; // basic_block | prologue_end | epilogue_begin
  let seqStartRow = rows.n;
  let seqFirstAddress = -1;

  const advance = (operationAdvance: number): void => {
    if (k.maxOps === 1) {
      address += k.minInst * operationAdvance;
    } else {
      address += k.minInst * Math.floor((opIndex + operationAdvance) / k.maxOps);
      opIndex = (opIndex + operationAdvance) % k.maxOps;
    }
  };
  const emit = (end: boolean): void => {
    if (seqFirstAddress < 0) seqFirstAddress = address;
    rows.push(address, line, column, file, disc, isa, (isStmt ? ROW_IS_STMT : 0) | extra | (end ? ROW_END_SEQUENCE : 0));
    disc = 0;
    extra = 0;
  };
  const reset = (): void => {
    address = 0; opIndex = 0; file = 1; line = 1; column = 0; isa = 0; disc = 0;
    isStmt = k.defaultIsStmt;
    extra = 0;
    seqStartRow = rows.n;
    seqFirstAddress = -1;
  };

  while (!p.atEnd()) {
    const op = p.u8();
    if (op >= k.opcodeBase) {
      if (k.lineRange === 0) throw new Malformed('line_range 0');
      const adjusted = op - k.opcodeBase;
      advance(Math.floor(adjusted / k.lineRange));
      line = (line + k.lineBase + (adjusted % k.lineRange)) >>> 0;
      emit(false);
      continue;
    }
    switch (op) {
      case 0: {
        const len = p.uleb();
        const start = p.pos;
        if (len === 0) break;
        const sub = p.u8();
        if (sub === 1) {
          emit(true);
          // Discarded functions keep their rows at the tombstone address: not real code.
          if (seqFirstAddress === tombstone) rows.n = seqStartRow;
          reset();
        } else if (sub === 2) {
          address = p.uN(len - 1);
          opIndex = 0;
        } else if (sub === 3) {
          const name = p.cstr();
          const dir = p.uleb();
          p.uleb();
          p.uleb();
          table.files.push({ name, dir });
        } else if (sub === 4) {
          disc = p.uleb();
        }
        // Trust the declared length, as llvm-dwarfdump does, but never past the table.
        if (start + len > p.end) throw new Malformed('extended opcode past end');
        p.pos = start + len;
        break;
      }
      case 1: emit(false); break; // copy
      case 2: advance(p.uleb()); break; // advance_pc
      case 3: line = (line + p.sleb()) >>> 0; break; // advance_line
      case 4: file = p.uleb(); break; // set_file
      case 5: column = p.uleb(); break; // set_column
      case 6: isStmt = !isStmt; break; // negate_stmt
      case 7: extra |= ROW_BASIC_BLOCK; break;
      case 8: { // const_add_pc
        if (k.lineRange === 0) throw new Malformed('line_range 0');
        advance(Math.floor((255 - k.opcodeBase) / k.lineRange));
        break;
      }
      case 9: address += p.u16(); opIndex = 0; break; // fixed_advance_pc
      case 10: extra |= ROW_PROLOGUE_END; break;
      case 11: extra |= ROW_EPILOGUE_BEGIN; break;
      case 12: isa = p.uleb(); break;
      default: {
        // An opcode this version does not define: skip its declared operands.
        const n = k.stdLengths[op - 1] ?? 0;
        for (let i = 0; i < n; i++) p.uleb();
      }
    }
  }
}

/**
 * The path of a line table file entry: "dir/name", or just the name when it is absolute or lies
 * in the compilation directory (dir 0), which keeps paths as short as the build made them.
 */
export function filePath(table: LineTable, fileIndex: number): string | null {
  const f = table.files[fileIndex];
  if (!f || f.name === '') return null;
  if (f.name.startsWith('/') || f.dir === 0) return f.name;
  const dir = table.dirs[f.dir];
  if (!dir) return f.name;
  return dir.endsWith('/') ? dir + f.name : `${dir}/${f.name}`;
}
