/**
 * Why: `kmemleak run` must refuse bad input with one clear line before anything else touches it
 * (the rewriter, V8), and it needs the module's imports and exports to decide whether it
 * is a WASI command. Reading just the section headers, the import and the export sections is
 * cheap and needs no compilation.
 *
 * Invariants: never throws anything but `InputError` (one-line, user-facing message); reads only
 * the import (2), memory (5) and export (7) sections, skipping all others by their declared size.
 */
import { InputError } from './errors.js';

export interface ImportEntry { module: string; name: string; kind: number }
export interface ExportEntry { name: string; kind: number; index: number }
export interface ModuleInfo {
  imports: ImportEntry[];
  exports: ExportEntry[];
  /** Memory 0's declared maximum in 64 KiB pages, or null when it declares none (or has none). */
  memoryMaxPages: number | null;
}

export const KIND_FUNC = 0;
export const KIND_MEMORY = 2;
export const KIND_GLOBAL = 3;

const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const utf8 = new TextDecoder('utf-8', { fatal: false });

class Reader {
  pos = 0;
  constructor(readonly bytes: Uint8Array, readonly what: string) {}
  fail(why: string): never {
    throw new InputError(`${this.what} is not a valid WebAssembly module: ${why} at byte 0x${this.pos.toString(16)}`);
  }
  byte(): number {
    if (this.pos >= this.bytes.length) this.fail('unexpected end of file');
    return this.bytes[this.pos++]!;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
      if (shift > 28 && (b & 0x70) !== 0) this.fail('bad LEB128 integer');
      if (shift > 35) this.fail('bad LEB128 integer');
    }
  }
  name(): string {
    const len = this.u32();
    if (this.pos + len > this.bytes.length) this.fail('name runs past the end');
    const s = utf8.decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }
  /** Reads limits; returns the maximum, or null when there is none. */
  limits(): number | null {
    const flags = this.byte();
    this.u32();
    return flags & 1 ? this.u32() : null;
  }
}

/** Checks the header and reads imports and exports. `what` names the file in messages. */
export function readModuleInfo(bytes: Uint8Array, what: string): ModuleInfo {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) {
    // A cut-off download that keeps \0asm is truncated, not "not wasm".
    if (bytes.length >= 4 && MAGIC.every((b, i) => bytes[i] === b)) {
      throw new InputError(`${what} is not a valid WebAssembly module: truncated in its 8-byte header (${bytes.length} bytes)`);
    }
    throw new InputError(`${what} is not a WebAssembly file (it does not start with \\0asm)`);
  }
  const version = bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24);
  if (version !== 1) {
    if ((version & 0xffff) === 0x000d || bytes[6] === 1) {
      throw new InputError(`${what} is a WebAssembly component, not a core module: kmemleak runs WASI preview1 command modules`);
    }
    throw new InputError(`${what} has WebAssembly binary version ${version}; only version 1 is supported`);
  }
  const r = new Reader(bytes, what);
  r.pos = 8;
  const info: ModuleInfo = { imports: [], exports: [], memoryMaxPages: null };
  let memories = 0;
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    if (end > bytes.length) r.fail(`section ${id} runs past the end of the file`);
    if (id === 2) {
      const n = r.u32();
      for (let i = 0; i < n; i++) {
        const module = r.name();
        const name = r.name();
        const kind = r.byte();
        switch (kind) {
          case 0: r.u32(); break;                  // function: type index
          case 1: r.byte(); r.limits(); break;     // table: reftype, limits
          case 2: {                                // memory
            const max = r.limits();
            if (memories++ === 0) info.memoryMaxPages = max;
            break;
          }
          case 3: r.byte(); r.byte(); break;       // global: valtype, mutability
          case 4: r.byte(); r.u32(); break;        // tag: attribute, type index
          default: r.fail(`unknown import kind ${kind}`);
        }
        info.imports.push({ module, name, kind });
      }
    } else if (id === 5) {
      const n = r.u32();
      for (let i = 0; i < n; i++) {
        const max = r.limits();
        if (memories++ === 0) info.memoryMaxPages = max;
      }
    } else if (id === 7) {
      const n = r.u32();
      for (let i = 0; i < n; i++) {
        const name = r.name();
        const kind = r.byte();
        const index = r.u32();
        info.exports.push({ name, kind, index });
      }
    }
    r.pos = end;
  }
  return info;
}

export const WASI_MODULE = 'wasi_snapshot_preview1';

/**
 * A WASI preview1 command exports `_start` and a memory, and imports from wasi_snapshot_preview1.
 * Says precisely what is missing, since reactors and plain libraries are common mistakes.
 */
export function checkWasiCommand(info: ModuleInfo, what: string): void {
  const start = info.exports.find((e) => e.name === '_start');
  const importsWasi = info.imports.some((i) => i.module === WASI_MODULE);
  if (!start || start.kind !== KIND_FUNC) {
    const reactor = info.exports.some((e) => e.name === '_initialize');
    throw new InputError(`${what} is not a WASI command: it exports no _start function` +
      (reactor ? ' (it is a WASI reactor; load it through the embedding API instead)' : ''));
  }
  if (!importsWasi) {
    const other = info.imports.find((i) => i.module.startsWith('wasi'))?.module;
    throw new InputError(`${what} is not a WASI preview1 command: it imports nothing from ${WASI_MODULE}` +
      (other ? ` (it imports from ${other})` : ''));
  }
  if (!info.exports.some((e) => e.name === 'memory' && e.kind === KIND_MEMORY)) {
    throw new InputError(`${what} is not a WASI command: it exports no memory named "memory"`);
  }
}
