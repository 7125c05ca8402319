/**
 * DWARF as a symbol source: function names from .debug_info, file:line:column from .debug_line.
 *
 * Decoded lazily: nothing is parsed until the first question, then everything once (units, the
 * subprograms, every line table a unit points at). Lookups after that are binary searches over
 * typed arrays.
 *
 * Addresses here are wasm DWARF addresses: offsets from the start of the Code section's contents.
 *
 * Invariants: never throws (the decoders stop at corruption and keep what they had); a
 * subprogram names a function only when its low_pc is exactly that function's body start, and a
 * line sequence answers only for addresses it covers inside the asking function's body, so
 * stale or tombstoned DWARF (wasm-opt run without -g zeroes every address) yields nothing rather
 * than wrong names.
 */
import { demangle } from './demangle/index.js';
import {
  readDebugInfo, TAG_class_type, TAG_enumeration_type, TAG_namespace, TAG_structure_type, TAG_union_type,
  type DebugInfo, type DwarfSections,
} from './dwarf-info.js';
import { decodeLineTable, filePath, ROW_END_SEQUENCE, type LineTable } from './dwarf-line.js';
import { InlineIndex, upperBound } from './dwarf-inline.js';

export interface SourceLocation {
  file: string;
  line: number;
  column?: number;
}

/** A function inlined at an address: its name and the position in it (file:line when known). */
export interface InlinedFrame {
  name: string | null;
  location: SourceLocation | null;
}

const SCOPE_TAGS = new Set([TAG_namespace, TAG_class_type, TAG_structure_type, TAG_union_type, TAG_enumeration_type]);

export function dwarfSections(custom: Map<string, Uint8Array>): DwarfSections {
  return {
    info: custom.get('.debug_info'),
    abbrev: custom.get('.debug_abbrev'),
    str: custom.get('.debug_str'),
    lineStr: custom.get('.debug_line_str'),
    strOffsets: custom.get('.debug_str_offsets'),
    addr: custom.get('.debug_addr'),
    ranges: custom.get('.debug_ranges'),
    rnglists: custom.get('.debug_rnglists'),
    line: custom.get('.debug_line'),
  };
}

export function hasDwarf(custom: Map<string, Uint8Array>): boolean {
  return custom.has('.debug_info') || custom.has('.debug_line');
}

export class Dwarf {
  private info: DebugInfo | null = null;
  private tables: LineTable[] = [];
  // Sequences of all tables, sorted by start address.
  private seqStart = new Float64Array(0);
  private seqEnd = new Float64Array(0);
  private seqTable = new Uint32Array(0);
  private seqFirstRow = new Uint32Array(0);
  private seqLastRow = new Uint32Array(0); // the end_sequence row
  // Inlined code ranges (every level), sorted by start.
  private inline: InlineIndex | null = null;
  private unitTable: (LineTable | null)[] = [];

  constructor(private readonly s: DwarfSections) {}

  /** Decodes everything once; safe to call repeatedly. */
  private decode(): DebugInfo {
    if (this.info) return this.info;
    const info = readDebugInfo(this.s);
    this.info = info;
    const line = this.s.line;
    const byOffset = new Map<number, LineTable | null>();
    for (const u of info.units) {
      if (!line || u.stmtList < 0) {
        this.unitTable.push(null);
        continue;
      }
      let t = byOffset.get(u.stmtList);
      if (t === undefined) {
        t = decodeLineTable(line, u.stmtList, u.addressSize, this.s);
        byOffset.set(u.stmtList, t);
        if (t) this.tables.push(t);
      }
      this.unitTable.push(t);
    }
    this.indexSequences();
    this.inline = new InlineIndex(info.inlined);
    return info;
  }

  private indexSequences(): void {
    const seqs: [number, number, number, number, number][] = [];
    this.tables.forEach((t, ti) => {
      let first = 0;
      for (let i = 0; i < t.rowCount; i++) {
        if (t.flags[i]! & ROW_END_SEQUENCE) {
          if (i > first) seqs.push([t.address[first]!, t.address[i]!, ti, first, i]);
          first = i + 1;
        }
      }
    });
    seqs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const n = seqs.length;
    this.seqStart = new Float64Array(n);
    this.seqEnd = new Float64Array(n);
    this.seqTable = new Uint32Array(n);
    this.seqFirstRow = new Uint32Array(n);
    this.seqLastRow = new Uint32Array(n);
    seqs.forEach(([s, e, t, f, l], i) => {
      this.seqStart[i] = s;
      this.seqEnd[i] = e;
      this.seqTable[i] = t;
      this.seqFirstRow[i] = f;
      this.seqLastRow[i] = l;
    });
  }

  /** The decoded line tables (for tests and tools). */
  lineTables(): readonly LineTable[] {
    this.decode();
    return this.tables;
  }

  /** The name of the subprogram whose code starts at `start` (a function body's start), or null. */
  functionNameAt(start: number): string | null {
    const info = this.decode();
    const die = info.functionStarts.get(start);
    if (die === undefined) return null;
    return this.nameOf(die);
  }

  /**
   * DW_AT_linkage_name (demangled) along the specification/abstract_origin chain; else DW_AT_name
   * qualified by the scopes enclosing the DIE that carries it.
   */
  private nameOf(die: number): string | null {
    const entries = this.decode().entries;
    let d = die;
    let named = -1;
    for (let hops = 0; hops < 8 && d >= 0; hops++) {
      const e = entries.get(d);
      if (!e) break;
      if (e.linkageName) return demangle(e.linkageName);
      if (named < 0 && e.name) named = d;
      d = e.ref;
    }
    if (named < 0) return null;
    const parts = [entries.get(named)!.name!];
    let p = entries.get(named)!.parent;
    for (let depth = 0; depth < 64 && p >= 0; depth++) {
      const e = entries.get(p);
      if (!e || !SCOPE_TAGS.has(e.tag)) break;
      parts.unshift(e.name ?? (e.tag === TAG_namespace ? '(anonymous namespace)' : '(anonymous)'));
      p = e.parent;
    }
    return parts.join('::');
  }

  /**
   * The source position of `address`, looked up only in sequences that start inside the asking
   * function's body [bodyStart, bodyEnd).
   */
  locationAt(address: number, bodyStart: number, bodyEnd: number): SourceLocation | null {
    return this.callSiteAt(address, bodyStart, bodyEnd) ?? this.lineAt(address, bodyStart, bodyEnd);
  }

  /**
   * Inside inlined code, the position in the real function is the call site of the outermost
   * inlined subroutine (llvm-symbolizer's last frame), not the inlined code's own line.
   */
  private callSiteAt(address: number, bodyStart: number, bodyEnd: number): SourceLocation | null {
    this.decode();
    const chain = this.inline!.chainAt(address, bodyStart, bodyEnd);
    return chain.length ? this.callSite(chain[chain.length - 1]!) : null;
  }

  /** Where an inlined subroutine (a node of the inline tree) was called from. */
  private callSite(node: number): SourceLocation | null {
    const info = this.decode();
    const t = info.inlined;
    const line = t.callLine[node]!;
    if (line <= 0) return null;
    const table = this.unitTable[t.unit[node]!];
    const file = table ? filePath(table, t.callFile[node]!) : null;
    if (!file) return null;
    const column = t.callColumn[node]!;
    return column > 0 ? { file, line, column } : { file, line };
  }

  /**
   * The functions inlined at `address`, innermost first, as llvm-symbolizer --inlining lists them
   * before the real function: the innermost at the line table's position, each other one at the
   * call site of the one inlined into it. Empty when no inlined code holds the address.
   */
  inlinedAt(address: number, bodyStart: number, bodyEnd: number): InlinedFrame[] {
    const info = this.decode();
    const chain = this.inline!.chainAt(address, bodyStart, bodyEnd);
    const out: InlinedFrame[] = [];
    for (let i = 0; i < chain.length; i++) {
      const node = chain[i]!;
      const origin = info.inlined.origin[node]!;
      out.push({
        name: origin >= 0 ? this.nameOf(origin) : null,
        location: i === 0 ? this.lineAt(address, bodyStart, bodyEnd) : this.callSite(chain[i - 1]!),
      });
    }
    return out;
  }

  /** The line table's row for the address. */
  private lineAt(address: number, bodyStart: number, bodyEnd: number): SourceLocation | null {
    this.decode();
    const starts = this.seqStart;
    // From the last sequence starting at or before the address, backwards.
    for (let i = upperBound(starts, address) - 1, tries = 0; i >= 0 && tries < 16; i--, tries++) {
      const s = starts[i]!;
      if (s < bodyStart) break;
      if (s >= bodyEnd || address >= this.seqEnd[i]!) continue;
      return this.rowAt(i, address);
    }
    return null;
  }

  private rowAt(seq: number, address: number): SourceLocation | null {
    const t = this.tables[this.seqTable[seq]!]!;
    // Last row of the sequence whose address is <= address (the end_sequence row excluded).
    let lo = this.seqFirstRow[seq]!, hi = this.seqLastRow[seq]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (t.address[mid]! <= address) lo = mid + 1;
      else hi = mid;
    }
    const row = lo - 1;
    if (row < this.seqFirstRow[seq]!) return null;
    const line = t.line[row]!;
    if (line === 0) return null;
    const file = filePath(t, t.file[row]!);
    if (!file) return null;
    const column = t.column[row]!;
    return column > 0 ? { file, line, column } : { file, line };
  }

  /** True when some subprogram or line sequence matches one of the given function bodies. */
  describesAny(bodyStarts: ArrayLike<number>, bodySizes: ArrayLike<number>): boolean {
    const info = this.decode();
    for (let i = 0; i < bodyStarts.length; i++) {
      const start = bodyStarts[i]!;
      if (info.functionStarts.has(start)) return true;
      if (this.locationAt(start + (bodySizes[i]! >>> 1), start, start + bodySizes[i]!)) return true;
    }
    return false;
  }
}

