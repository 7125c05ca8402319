import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { checkWasiCommand, readModuleInfo } from '../../src/wasm/runtime/module-info.js';
import { InputError } from '../../src/wasm/runtime/errors.js';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/runtime/${name}`, import.meta.url)));

function failure(f: () => void): InputError {
  try { f(); } catch (e) { if (e instanceof InputError) return e; throw e; }
  throw new Error('expected an InputError');
}

describe('readModuleInfo / checkWasiCommand', () => {
  it('reads a WASI command', () => {
    const info = readModuleInfo(fixture('tool.wasm'), 'tool.wasm');
    expect(info.exports.map((e) => e.name)).toContain('_start');
    expect(info.imports.some((i) => i.module === 'wasi_snapshot_preview1' && i.name === 'fd_write')).toBe(true);
    expect(() => checkWasiCommand(info, 'tool.wasm')).not.toThrow();
  });

  it('refuses a file that is not wasm', () => {
    const e = failure(() => readModuleInfo(fixture('notwasm.wasm'), 'notwasm.wasm'));
    expect(e.message).toBe('notwasm.wasm is not a WebAssembly file (it does not start with \\0asm)');
  });

  it('a file cut inside the header that starts with \\0asm is truncated, not "not wasm"', () => {
    for (const n of [4, 7]) {
      const e = failure(() => readModuleInfo(fixture('tool.wasm').subarray(0, n), 't.wasm'));
      expect(e.message).toBe(`t.wasm is not a valid WebAssembly module: truncated in its 8-byte header (${n} bytes)`);
    }
  });

  it('refuses a truncated module with the offset', () => {
    const bytes = fixture('tool.wasm').subarray(0, 300);
    const e = failure(() => readModuleInfo(bytes, 't.wasm'));
    expect(e.message).toMatch(/^t\.wasm is not a valid WebAssembly module: .* at byte 0x/);
  });

  it('refuses a component', () => {
    const comp = new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]);
    expect(failure(() => readModuleInfo(comp, 'c.wasm')).message).toMatch(/component/);
  });

  it('says a reactor is not a command', () => {
    const info = readModuleInfo(fixture('reactor.wasm'), 'reactor.wasm');
    expect(failure(() => checkWasiCommand(info, 'reactor.wasm')).message)
      .toBe('reactor.wasm is not a WASI command: it exports no _start function (it is a WASI reactor; load it through the embedding API instead)');
  });

  it('says a module without WASI imports is not a WASI command', () => {
    const info = readModuleInfo(fixture('nowasi.wasm'), 'nowasi.wasm');
    expect(failure(() => checkWasiCommand(info, 'nowasi.wasm')).message)
      .toBe('nowasi.wasm is not a WASI preview1 command: it imports nothing from wasi_snapshot_preview1');
  });

  it("reads memory 0's declared maximum: defined or imported, with or without one", async () => {
    const binaryen = (await import('binaryen')).default;
    const make = (max: number, imported: boolean): Uint8Array => {
      const m = new binaryen.Module();
      m.setMemory(2, max, 'memory', [], false, false, '0');
      if (imported) m.addMemoryImport('0', 'env', 'memory');
      const bytes = m.emitBinary();
      m.dispose();
      return bytes;
    };
    expect(readModuleInfo(make(300, false), 'a.wasm').memoryMaxPages).toBe(300);
    expect(readModuleInfo(make(-1, false), 'b.wasm').memoryMaxPages).toBeNull(); // binaryen: -1 = none
    expect(readModuleInfo(make(40, true), 'c.wasm').memoryMaxPages).toBe(40);
    expect(readModuleInfo(fixture('tool.wasm'), 'tool.wasm').memoryMaxPages).toBeNull(); // wasm-ld's default
  });
});

