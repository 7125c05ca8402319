/**
 * The symbolizer: raw frames of the ORIGINAL binary -> readable `Frame`s.
 *
 * API
 *   const sym = await Symbolizer.fromBinary(bytes, { sourceMap?, loadSourceMap? });
 *     bytes          the original (un-rewritten) .wasm file
 *     sourceMap      a source map's JSON text (`--source-map FILE`); takes precedence
 *     loadSourceMap  called with the URL of the `sourceMappingURL` section when no sourceMap is
 *                    given (data: URLs are decoded without it); return the JSON text, or null.
 *                    The symbolizer itself reads no files, so it runs in browsers too.
 *   Symbolizer.fromBinarySync(bytes)   the same without source maps (names and DWARF only): the
 *                    `source-map` package's decoder is asynchronous.
 *   sym.frame(funcIndex, moduleOffset): Frame
 *     funcIndex      function index in the original binary (imports first)
 *     moduleOffset   byte offset in the whole file, as V8 prints `wasm-function[N]:0xOFF` (for a
 *                    caller, the offset of its call instruction)
 *     -> { function, offset (from the body start, i.e. just after the body size, where DWARF's
 *          low_pc points), size (body size), file?, line?, column?, funcIndex }
 *     An offset outside the body is clamped to [0, size] and gets no file:line. In code inlined
 *     into the function, file:line is the call site in the function itself (what
 *     llvm-symbolizer's outermost frame says), so the line always belongs to the named function.
 *     `file` is the path as the compiler recorded it (absolute when the build used absolute
 *     paths); reporters may shorten it.
 *   sym.frames(funcIndex, moduleOffset): Frame[]
 *     The functions inlined at that position (DWARF's inline tree), innermost first, each with
 *     `inline: true`, its name and its own file:line (the innermost at the line table's position,
 *     the others at the call site of the one inlined into them), then frame(funcIndex,
 *     moduleOffset) itself: what llvm-symbolizer --inlining lists. Just [frame(...)] without
 *     inlined code there.
 *   sym.functionName(funcIndex): string | null
 *   sym.sources(): ('name' | 'dwarf' | 'sourcemap')[]   the sources that describe this binary
 *   sym.sourceMappingURL(): string | null
 *   sym.unnamedReason(): string | null   null when the binary names its functions (name section
 *                    or DWARF that matches the code); else one sentence: why frames print as
 *                    wasm-function[N] and how to build so that they have names.
 *   (frames are printed by src/report/text.ts's formatFrame: `make_lost+0x1c/0x53 simple.c:12`, or
 *   `wasm-function[7]+0x1c/0x53` when nothing names the function).
 *
 * Sources, per frame: the function name comes from the name section (subsection 1), else from
 * DWARF (.debug_info), else it is null; file:line:column comes from DWARF (.debug_line), else from
 * the source map. Mangled names (C++ Itanium, Rust legacy and v0) are demangled wherever they
 * come from; names already demangled by wasm-ld keep their form (Rust hashes are dropped).
 *
 * Costs: the binary's sections are located once in fromBinary; DWARF is decoded on the first
 * question that needs it, all at once; names are cached per function. Nothing here throws on a
 * malformed binary, section, DWARF or map: what cannot be read is simply not used.
 */
import type { Frame } from './frame.js';
import { cleanName } from './demangle/index.js';
import { Dwarf, dwarfSections, hasDwarf } from './dwarf.js';
import { readFunctionNames, readModule, readSourceMappingURL, type ModuleInfo } from './module.js';
import { decodeDataURL, loadSourceMap, sourceMapLookup, type SourceMapIndex } from './source-map.js';

export type { Frame, TraceDescriber } from './frame.js';
export { demangle } from './demangle/index.js';

export type SymbolSource = 'name' | 'dwarf' | 'sourcemap';

export interface SymbolizerOptions {
  /** Source map JSON text; wins over the binary's sourceMappingURL section. */
  sourceMap?: string;
  /** Fetches the map named by the sourceMappingURL section (resolve it against the .wasm's path). */
  loadSourceMap?: (url: string) => string | null | undefined | Promise<string | null | undefined>;
}

const UNKNOWN = undefined;

export class Symbolizer {
  private readonly module: ModuleInfo;
  private readonly names: Map<number, string>;
  private readonly dwarf: Dwarf | null;
  private readonly map: SourceMapIndex | null;
  private readonly url: string | null;
  private readonly nameCache = new Map<number, string | null>();
  private dwarfUseful: boolean | undefined = UNKNOWN;

  private constructor(module: ModuleInfo, map: SourceMapIndex | null) {
    this.module = module;
    this.names = readFunctionNames(this.module.custom.get('name'));
    this.dwarf = hasDwarf(this.module.custom) ? new Dwarf(dwarfSections(this.module.custom)) : null;
    this.url = readSourceMappingURL(this.module.custom.get('sourceMappingURL'));
    this.map = map;
  }

  static async fromBinary(bytes: Uint8Array, opts: SymbolizerOptions = {}): Promise<Symbolizer> {
    const module = readModule(bytes);
    let json: string | null | undefined = opts.sourceMap;
    if (json === undefined) {
      const url = readSourceMappingURL(module.custom.get('sourceMappingURL'));
      if (url !== null) {
        json = decodeDataURL(url);
        if (json === null && opts.loadSourceMap) {
          try {
            json = await opts.loadSourceMap(url);
          } catch {
            json = null; // an unreadable map only means no map
          }
        }
      }
    }
    const map = typeof json === 'string' ? await loadSourceMap(json) : null;
    return new Symbolizer(module, map);
  }

  static fromBinarySync(bytes: Uint8Array): Symbolizer {
    return new Symbolizer(readModule(bytes), null);
  }

  /** The URL in the binary's sourceMappingURL section, if any. */
  sourceMappingURL(): string | null {
    return this.url;
  }

  sources(): SymbolSource[] {
    const out: SymbolSource[] = [];
    if (this.names.size > 0) out.push('name');
    if (this.dwarf && this.isDwarfUseful()) out.push('dwarf');
    if (this.map && this.map.offsets.length > 0) out.push('sourcemap');
    return out;
  }

  unnamedReason(): string | null {
    if (this.names.size > 0 || (this.dwarf && this.isDwarfUseful())) return null;
    if (this.dwarf) {
      // clang -O1..-O3 runs binaryen's wasm-opt after the link when it is on PATH, without -g:
      // wasm-opt drops the name section and rewrites the code but leaves DWARF as it was, its
      // code addresses all zero.
      return 'frames have no names: the module has no name section and its DWARF does not match its code ' +
        '(wasm-opt rewrote it without -g: clang runs wasm-opt after an optimised link when binaryen is on PATH); ' +
        'to keep names, compile and link in two steps (clang -O1 -g -c x.c; clang -g x.o -o x.wasm), ' +
        'or keep wasm-opt off PATH, or run wasm-opt yourself with -g';
    }
    return 'frames have no names: the module has no name section and no debug info (stripped); ' +
      'to keep names, build with -g and without --strip-all/-s, and run wasm-opt (if at all) with -g';
  }

  private isDwarfUseful(): boolean {
    if (this.dwarfUseful === UNKNOWN) {
      const m = this.module;
      const rel = new Float64Array(m.bodyStart.length);
      for (let i = 0; i < rel.length; i++) rel[i] = m.bodyStart[i]! - m.codeStart;
      this.dwarfUseful = m.codeStart >= 0 && this.dwarf!.describesAny(rel, m.bodySize);
    }
    return this.dwarfUseful;
  }

  functionName(funcIndex: number): string | null {
    if (!Number.isInteger(funcIndex) || funcIndex < 0) return null;
    const cached = this.nameCache.get(funcIndex);
    if (cached !== undefined) return cached;
    let name: string | null = null;
    const fromSection = this.names.get(funcIndex);
    if (fromSection !== undefined && fromSection !== '') {
      name = cleanName(fromSection);
    } else if (this.dwarf) {
      const def = this.definedIndex(funcIndex);
      if (def >= 0) name = this.dwarf.functionNameAt(this.module.bodyStart[def]! - this.module.codeStart);
    }
    this.nameCache.set(funcIndex, name);
    return name;
  }

  frame(funcIndex: number, moduleOffset: number): Frame {
    const def = this.definedIndex(funcIndex);
    const frame: Frame = { function: this.functionName(funcIndex), offset: 0, size: 0, funcIndex };
    if (def < 0) return frame;
    const start = this.module.bodyStart[def]!;
    const size = this.module.bodySize[def]!;
    frame.size = size;
    const inside = moduleOffset >= start && moduleOffset < start + size;
    frame.offset = inside ? moduleOffset - start : moduleOffset < start ? 0 : size;
    if (!inside) return frame;
    let loc: { file: string; line: number; column?: number } | null = null;
    if (this.dwarf) {
      const base = this.module.codeStart;
      loc = this.dwarf.locationAt(moduleOffset - base, start - base, start + size - base);
    }
    if (!loc && this.map) loc = sourceMapLookup(this.map, moduleOffset, start);
    if (loc) {
      frame.file = loc.file;
      frame.line = loc.line;
      if (loc.column !== undefined) frame.column = loc.column;
    }
    return frame;
  }

  frames(funcIndex: number, moduleOffset: number): Frame[] {
    const outer = this.frame(funcIndex, moduleOffset);
    const def = this.definedIndex(funcIndex);
    if (!this.dwarf || def < 0) return [outer];
    const start = this.module.bodyStart[def]!;
    const size = this.module.bodySize[def]!;
    if (moduleOffset < start || moduleOffset >= start + size) return [outer];
    const base = this.module.codeStart;
    const inlined = this.dwarf.inlinedAt(moduleOffset - base, start - base, start + size - base);
    if (!inlined.length) return [outer];
    const out: Frame[] = [];
    for (const f of inlined) {
      const frame: Frame = { function: f.name, offset: outer.offset, size: outer.size, funcIndex, inline: true };
      if (f.location) {
        frame.file = f.location.file;
        frame.line = f.location.line;
        if (f.location.column !== undefined) frame.column = f.location.column;
      }
      out.push(frame);
    }
    out.push(outer);
    return out;
  }

  /** Index among defined functions, or -1 for imports and unknown indexes. */
  private definedIndex(funcIndex: number): number {
    const imported = this.module.importedFunctions;
    if (imported < 0 || !Number.isInteger(funcIndex)) return -1;
    const def = funcIndex - imported;
    return def >= 0 && def < this.module.bodyStart.length ? def : -1;
  }
}
