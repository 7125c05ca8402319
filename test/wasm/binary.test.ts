/**
 * The binary reader: module structure, the instruction walker (checked instruction by instruction
 * against wabt's disassembly of a module using every instruction family), the name section, the
 * DWARF variable/function reader, LEB128, and one-line errors for malformed input.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  parseModule, walkInstructions, decodeNames, encodeNames, ByteReader, ByteWriter, WasmFormatError, lebSize,
  SEC_CUSTOM, callGraph,
} from '../../src/wasm/binary/index.js';
import { readDwarf, dwarfFunctionNames } from '../../src/wasm/binary/dwarf.js';
import { instrument } from '../../src/wasm/instrument/index.js';
import { FIXTURES, fixture, validFixtures, MALFORMED } from './helpers.js';

describe('module structure', () => {
  for (const name of validFixtures()) {
    it(name, () => {
      const bytes = fixture(name);
      const m = parseModule(bytes);
      // sections tile the file after the header
      let at = 8;
      for (const s of m.sections) {
        expect(s.start).toBe(at);
        at = s.end;
      }
      expect(at).toBe(bytes.length);
      // every body decodes to its end, and its last instruction is `end`
      let lastOp = -1;
      for (const b of m.bodies) {
        let end = -1;
        walkInstructions(bytes, b.codeStart, b.end, (i) => { end = i.end; lastOp = i.op; });
        expect(end).toBe(b.end);
        expect(lastOp).toBe(0x0b);
      }
      expect(m.functions.length).toBe(m.bodies.length);
      expect(m.warnings).toEqual([]);
    });
  }

  it('decodes what wasm-objdump shows for corpus/calloc_strdup.wasm', () => {
    const m = parseModule(fixture('corpus/calloc_strdup.wasm'));
    expect(m.imports.map((i) => `${i.module}.${i.name}`)).toEqual([
      'wasi_snapshot_preview1.fd_close', 'wasi_snapshot_preview1.fd_fdstat_get', 'wasi_snapshot_preview1.fd_seek',
      'wasi_snapshot_preview1.fd_write', 'wasi_snapshot_preview1.proc_exit']);
    expect(m.importedFuncCount).toBe(5);
    expect(m.functions).toHaveLength(38);
    expect(m.globals[0]!.init.value).toEqual({ kind: 'i32', value: 68288 });
    expect(m.names!.globals.get(0)).toBe('__stack_pointer');
    expect([...m.names!.data.values()]).toEqual(['.rodata', '.data']);
    expect(m.data.map((d) => [d.offset!.value, d.dataEnd - d.dataStart])).toEqual([
      [{ kind: 'i32', value: 1024 }, 47], [{ kind: 'i32', value: 1072 }, 116]]);
    expect(m.exports.map((e) => e.name)).toEqual(['memory', '_start']);
    expect(m.elements[0]!.funcIndices).toEqual([33, 31, 35, 37]);
    expect(m.names!.functions.get(9)).toBe('malloc');
    expect(m.customs.map((c) => c.name)).toEqual(['.debug_info', '.debug_loc', '.debug_ranges', '.debug_abbrev',
      '.debug_line', '.debug_str', 'name', 'producers']);
  });
});

describe('instruction walker', () => {
  it('finds every instruction wasm-objdump finds in the features module (all families)', () => {
    const bytes = fixture('features.wasm');
    const want = readFileSync(join(FIXTURES, 'features.offsets'), 'utf8').trim().split('\n').map((h) => parseInt(h, 16));
    const m = parseModule(bytes);
    const got: number[] = [];
    for (const b of m.bodies) {
      // wasm-objdump lists local declarations as lines too
      if (b.locals.length) {
        const r = new ByteReader(bytes, b.bodyStart, b.codeStart);
        r.u32();
        for (let i = 0; i < b.locals.length; i++) {
          got.push(r.pos);
          r.u32();
          r.u8();
        }
      }
      walkInstructions(bytes, b.codeStart, b.end, (i) => got.push(i.start));
    }
    expect(got).toEqual(want);
    expect(got.length).toBeGreaterThan(500);
  });

  it('reports unknown opcodes with their offset', () => {
    const bytes = fixture('features.wasm').slice();
    const b = parseModule(bytes).bodies.at(-1)!;
    bytes[b.codeStart] = 0xc5; // reserved
    expect(() => walkInstructions(bytes, b.codeStart, b.end, () => {})).toThrow(
      `unknown opcode 0xc5 at offset 0x${b.codeStart.toString(16)}`);
    bytes[b.codeStart] = 0xfb;
    expect(() => walkInstructions(bytes, b.codeStart, b.end, () => {})).toThrow(/unsupported GC instruction/);
  });
});

describe('call graph', () => {
  it('has the direct calls of the code and marks indirect callers', () => {
    const m = parseModule(fixture('corpus/calloc_strdup.wasm'));
    const g = callGraph(m);
    const callees = (f: number): number[] => [...g.callees.subarray(g.offsets[f]!, g.offsets[f + 1]!)];
    expect(callees(9)).toEqual([10]); // malloc -> dlmalloc
    expect(callees(42)).toEqual([5, 21]); // _start.command_export -> _start, __wasm_call_dtors
    const names = m.names!.functions;
    const indirect = [...g.indirect.keys()].filter((f) => g.indirect[f]).map((f) => names.get(f));
    expect(indirect).toContain('fwrite');
  });
});

describe('name section', () => {
  for (const name of ['corpus/widget.wasm', 'corpus/simple.wasm', 'features.wasm']) {
    it(`re-encodes ${name} byte for byte`, () => {
      const bytes = fixture(name);
      const m = parseModule(bytes);
      const c = m.customs.find((s) => s.name === 'name')!;
      const r = new ByteReader(bytes, c.contentStart, c.end);
      r.name();
      const names = decodeNames(bytes, r.pos, c.end);
      expect(encodeNames(names, bytes)).toEqual(bytes.slice(r.pos, c.end));
    });
  }
  it('a malformed name section is a warning, not an error', () => {
    const bytes = fixture('corpus/simple.wasm').slice();
    const m = parseModule(bytes);
    const c = m.customs.find((s) => s.name === 'name')!;
    bytes[c.end - 1] = 0xff; // break the last name's bytes/LEB
    bytes[c.contentStart + 6] = 0x7f;
    const again = parseModule(bytes);
    expect(again.sections.at(-2)?.id ?? SEC_CUSTOM).toBe(SEC_CUSTOM);
    if (again.names === null) expect(again.warnings[0]).toMatch(/^ignored malformed name section/);
  });
});

describe('DWARF', () => {
  it('finds dlmalloc state with sizes, as llvm-dwarfdump shows it', () => {
    const m = parseModule(fixture('corpus/calloc_strdup.wasm'));
    const vars = readDwarf(m).variables;
    expect(vars.find((v) => v.name === '_gm_')).toMatchObject({ address: 0x4b4, size: 0x1d8, isConst: false });
    expect(vars.find((v) => v.name === 'mparams')).toMatchObject({ address: 0x68c, size: 0x18 });
    expect(vars.find((v) => v.name === 'corpus_sink')?.size).toBe(4);
  });
  it('maps function names to indices when the name section is gone', () => {
    const named = parseModule(fixture('realloc_move.wasm')).names!.functions;
    const counts = new Map<string, number>();
    for (const n of named.values()) counts.set(n, (counts.get(n) ?? 0) + 1);
    const dw = dwarfFunctionNames(parseModule(fixture('realloc_move.nonames.wasm')));
    let checked = 0;
    for (const [i, n] of named) {
      if (counts.get(n) !== 1 || !dw.has(n)) continue;
      expect(dw.get(n), n).toBe(i);
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
    expect(dw.get('malloc')).toBeDefined();
  });
  it('ignores code addresses wasm-opt zeroed (release link)', () => {
    expect(dwarfFunctionNames(parseModule(fixture('calloc.linkopt.wasm'))).size).toBe(0);
    expect(readDwarf(parseModule(fixture('calloc.linkopt.wasm'))).variables.find((v) => v.name === '_gm_')).toBeDefined();
  });
});

describe('LEB128', () => {
  it('round-trips u32, s32, s64 and padded u32', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: -0x80000000, max: 0x7fffffff }),
      fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), fc.integer({ min: 1, max: 5 }), (u, s, big, width) => {
        const w = new ByteWriter(4);
        w.u32(u);
        w.s32(s);
        w.s64(big);
        w.u32Padded(u, width);
        const r = new ByteReader(w.result());
        expect(r.u32()).toBe(u);
        expect(r.s32()).toBe(s);
        expect(r.s64()).toBe(big);
        const at = r.pos;
        expect(r.u32()).toBe(u);
        expect(r.pos - at).toBe(Math.max(width, lebSize(u)));
        expect(r.atEnd()).toBe(true);
      }));
  });
  it('encodes 64-bit values from two u32 halves like the bigint encoder', () => {
    fc.assert(fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), (v) => {
      const a = new ByteWriter(4);
      a.s64(v);
      const b = new ByteWriter(4);
      const u = BigInt.asUintN(64, v);
      b.s64Halves(Number(u & 0xffffffffn), Number(u >> 32n));
      expect(b.result()).toEqual(a.result());
    }));
  });
  it('rejects over-long and over-large encodings', () => {
    expect(() => new ByteReader(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x00])).u32()).toThrow(/too long/);
    expect(() => new ByteReader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x1f])).u32()).toThrow(/too large/);
    expect(() => new ByteReader(new Uint8Array([0x80])).u32()).toThrow('truncated module at offset 0x1');
  });
});

describe('malformed input', () => {
  const expected: Record<string, string> = {
    'bad_magic.wasm': 'not a wasm module (bad magic)',
    'text.wasm': 'not a wasm module (bad magic)',
    'short_header.wasm': 'truncated module header at offset 0x4',
    'truncated.wasm': 'truncated function section at offset 0x10f',
    'huge_section.wasm': 'truncated type section at offset 0x8',
    'code_without_function.wasm': 'function and code section counts differ (0 vs 1) at offset 0x8',
  };
  for (const name of MALFORMED) {
    it(name, () => {
      expect(() => parseModule(fixture(name))).toThrow(WasmFormatError);
      expect(() => parseModule(fixture(name))).toThrow(expected[name]!);
    });
  }
  it('an empty file and a non-array', () => {
    expect(() => parseModule(new Uint8Array(0))).toThrow('not a wasm module (bad magic)');
    expect(() => parseModule('x' as unknown as Uint8Array)).toThrow(WasmFormatError);
  });

  const base = fixture('features.wasm');
  it('any truncation is a one-line WasmFormatError, never a RangeError', () => {
    // cutting exactly after the header or a section leaves a well-formed (smaller) module
    const boundaries = new Set([8, ...parseModule(base).sections.map((s) => s.end)]);
    for (let n = 0; n < base.length; n++) {
      try {
        parseModule(base.subarray(0, n));
      } catch (e) {
        expect(e).toBeInstanceOf(WasmFormatError);
        expect((e as Error).message).not.toContain('\n');
        continue;
      }
      expect(boundaries.has(n), `a truncation to ${n} bytes decoded`).toBe(true);
    }
  });
  it('random byte corruption: parse and instrument fail only with WasmFormatError', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      (edits) => {
        const bytes = base.slice();
        for (const [at, v] of edits) bytes[at] = v;
        try {
          instrument(bytes);
        } catch (e) {
          if (!(e instanceof WasmFormatError)) throw e;
          expect(e.message).not.toContain('\n');
        }
      }), { numRuns: 400 });
  });
});
