/**
 * The few facts the symbolizer needs from a wasm binary, read once: how many functions are
 * imported, where each defined function's body lies in the file, where the Code section's
 * contents start (the origin of wasm DWARF addresses), and the custom sections by name.
 *
 * This is deliberately a small reader of our own (src/wasm/ is a separate, richer reader).
 * Invariant: `readModule` never throws. A truncated or corrupt binary yields whatever was read
 * before the damage; a section that cannot be read leaves its fields at their "unknown" values
 * (importedFunctions -1 when the import section is unreadable, codeStart -1 without a Code
 * section), which the symbolizer treats as "no information".
 */
import { Malformed, Reader } from './reader.js';

export interface ModuleInfo {
  /** Function imports (they come first in the function index space); -1 if unreadable. */
  importedFunctions: number;
  /** File offset of the Code section's contents (after its size); -1 if absent. */
  codeStart: number;
  /** File offset just past the Code section. */
  codeEnd: number;
  /** Per defined function: file offset of the body (its locals), just after the body size. */
  bodyStart: Uint32Array;
  /** Per defined function: the body size in bytes, as the Code section declares it. */
  bodySize: Uint32Array;
  /** Custom sections by name (the first of each name wins), as views into the binary. */
  custom: Map<string, Uint8Array>;
}

const SECTION_CUSTOM = 0;
const SECTION_IMPORT = 2;
const SECTION_CODE = 10;

export function readModule(bytes: Uint8Array): ModuleInfo {
  const info: ModuleInfo = {
    importedFunctions: 0,
    codeStart: -1,
    codeEnd: -1,
    bodyStart: new Uint32Array(0),
    bodySize: new Uint32Array(0),
    custom: new Map(),
  };
  if (
    bytes.length < 8 ||
    bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d
  ) {
    info.importedFunctions = -1;
    return info;
  }
  const r = new Reader(bytes, 8);
  try {
    while (!r.atEnd()) {
      const id = r.u8();
      const size = r.u32leb();
      const start = r.pos;
      const end = start + size;
      if (end > bytes.length) throw new Malformed('section past end of file');
      if (id === SECTION_CUSTOM) readCustom(bytes, start, end, info);
      else if (id === SECTION_IMPORT) info.importedFunctions = countFunctionImports(bytes, start, end);
      else if (id === SECTION_CODE) readCode(bytes, start, end, info);
      r.pos = end;
    }
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
  }
  return info;
}

function readCustom(bytes: Uint8Array, start: number, end: number, info: ModuleInfo): void {
  try {
    const r = new Reader(bytes, start, end);
    const name = r.name();
    if (!info.custom.has(name)) info.custom.set(name, bytes.subarray(r.pos, end));
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
  }
}

function countFunctionImports(bytes: Uint8Array, start: number, end: number): number {
  const r = new Reader(bytes, start, end);
  try {
    const count = r.u32leb();
    let functions = 0;
    for (let i = 0; i < count; i++) {
      r.name();
      r.name();
      const kind = r.u8();
      switch (kind) {
        case 0: // function: type index
          r.u32leb();
          functions++;
          break;
        case 1: // table: reference type, limits
          skipRefType(r);
          skipLimits(r);
          break;
        case 2: // memory: limits
          skipLimits(r);
          break;
        case 3: // global: value type, mutability
          skipValType(r);
          r.u8();
          break;
        case 4: // tag: attribute, type index
          r.u8();
          r.u32leb();
          break;
        default:
          throw new Malformed(`unknown import kind ${kind}`);
      }
    }
    return functions;
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
    return -1;
  }
}

function skipLimits(r: Reader): void {
  const flags = r.u8();
  r.uleb();
  if (flags & 1) r.uleb();
}

function skipRefType(r: Reader): void {
  const t = r.u8();
  // GC-proposal reference types carry a heap type after the prefix.
  if (t === 0x63 || t === 0x64) r.sleb();
}

function skipValType(r: Reader): void {
  skipRefType(r);
}

function readCode(bytes: Uint8Array, start: number, end: number, info: ModuleInfo): void {
  const r = new Reader(bytes, start, end);
  info.codeStart = start;
  info.codeEnd = end;
  let count = 0;
  let starts = new Uint32Array(0);
  let sizes = new Uint32Array(0);
  try {
    const declared = r.u32leb();
    // Never trust a count for an allocation: each body takes at least one byte.
    const cap = Math.min(declared, end - r.pos);
    starts = new Uint32Array(cap);
    sizes = new Uint32Array(cap);
    for (let i = 0; i < cap; i++) {
      const size = r.u32leb();
      const bodyStart = r.pos;
      r.skip(size);
      starts[i] = bodyStart;
      sizes[i] = size;
      count = i + 1;
    }
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
  }
  info.bodyStart = starts.subarray(0, count);
  info.bodySize = sizes.subarray(0, count);
}

/**
 * Function names from the "name" custom section (subsection 1). Names decoded before any
 * corruption are kept.
 */
export function readFunctionNames(section: Uint8Array | undefined): Map<number, string> {
  const names = new Map<number, string>();
  if (!section) return names;
  const r = new Reader(section);
  try {
    while (!r.atEnd()) {
      const id = r.u8();
      const size = r.u32leb();
      const end = r.pos + size;
      if (end > r.end) throw new Malformed('name subsection past end');
      if (id === 1) {
        const sub = new Reader(section, r.pos, end);
        const count = sub.u32leb();
        for (let i = 0; i < count; i++) {
          const index = sub.u32leb();
          const name = sub.name();
          names.set(index, name);
        }
      }
      r.pos = end;
    }
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
  }
  return names;
}

/** The URL in a `sourceMappingURL` custom section (a wasm name), or null. */
export function readSourceMappingURL(section: Uint8Array | undefined): string | null {
  if (!section) return null;
  try {
    const url = new Reader(section).name();
    return url.length > 0 ? url : null;
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
    return null;
  }
}
