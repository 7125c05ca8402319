/**
 * Malformed input never throws: truncated binaries, corrupted sections (name, DWARF, source map
 * URL), random bytes fed to each decoder. Each case also asserts the symbolizer still answers
 * with well-formed frames.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeLineTable } from '../../src/symbolize/dwarf-line.js';
import { readDebugInfo } from '../../src/symbolize/dwarf-info.js';
import { readFunctionNames, readModule, readSourceMappingURL } from '../../src/symbolize/module.js';
import { Symbolizer } from '../../src/symbolize/index.js';
import type { Frame } from '../../src/symbolize/frame.js';
import { fixture, wasmBodies } from './helpers.js';

function checkFrame(f: Frame, funcIndex: number): void {
  expect(f.funcIndex).toBe(funcIndex);
  expect(f.function === null || typeof f.function === 'string').toBe(true);
  expect(Number.isInteger(f.offset) && f.offset >= 0).toBe(true);
  expect(Number.isInteger(f.size) && f.size >= 0).toBe(true);
  expect(f.offset).toBeLessThanOrEqual(f.size);
  if (f.line !== undefined) expect(typeof f.file).toBe('string');
}

/** Symbolizes three probes in each function of the original layout; must not throw. */
function exercise(bytes: Uint8Array, probes: { funcIndex: number; offset: number }[]): void {
  const sym = Symbolizer.fromBinarySync(bytes);
  expect(Array.isArray(sym.sources())).toBe(true);
  for (const p of probes) {
    checkFrame(sym.frame(p.funcIndex, p.offset), p.funcIndex);
    sym.functionName(p.funcIndex);
  }
}

function probesOf(bytes: Uint8Array): { funcIndex: number; offset: number }[] {
  return wasmBodies(bytes).bodies.flatMap((b) => [
    { funcIndex: b.funcIndex, offset: b.start },
    { funcIndex: b.funcIndex, offset: b.start + (b.size >>> 1) },
    { funcIndex: b.funcIndex, offset: b.start + b.size - 1 },
  ]);
}

describe('malformed binaries never throw', () => {
  const original = fixture('simple.names.wasm');
  const probes = probesOf(original);
  const custom = readModule(original).custom;
  const sectionRange = (name: string): [number, number] => {
    const s = custom.get(name)!;
    return [s.byteOffset - original.byteOffset, s.byteOffset - original.byteOffset + s.length];
  };

  it('not wasm at all', () => {
    for (const b of [new Uint8Array(0), new Uint8Array([0, 0x61, 0x73]), new TextEncoder().encode('hello world, not wasm')]) {
      const sym = Symbolizer.fromBinarySync(b);
      expect(sym.sources()).toEqual([]);
      expect(sym.frame(3, 100)).toEqual({ function: null, offset: 0, size: 0, funcIndex: 3 });
    }
  });

  it('truncated anywhere', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: original.length }), (cut) => {
        exercise(original.subarray(0, cut), probes);
      }),
      { numRuns: 80, seed: 1 },
    );
  });

  for (const name of ['name', '.debug_info', '.debug_abbrev', '.debug_line', '.debug_str', '.debug_ranges']) {
    it(`${name} corrupted`, () => {
      const [start, end] = sectionRange(name);
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.integer({ min: start, max: end - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 24 }),
          (edits) => {
            const b = original.slice();
            for (const [at, v] of edits) b[at] = v;
            exercise(b, probes);
          },
        ),
        { numRuns: 30, seed: 2 },
      );
    });
  }

  it('a DWARF section cut short keeps the name section names', () => {
    const [start, end] = sectionRange('.debug_line');
    const b = original.slice();
    b.fill(0xff, start + 40, end); // ruins every line program after the first bytes
    const sym = Symbolizer.fromBinarySync(b);
    expect(sym.functionName(7)).toBe('make_lost');
    checkFrame(sym.frame(7, probes.find((p) => p.funcIndex === 7)!.offset + 5), 7);
  });

  it('DWARF 5 binary corrupted', () => {
    const d5 = fixture('simple.dwarf5.wasm');
    const c5 = readModule(d5).custom;
    const p5 = probesOf(d5);
    const names = ['.debug_info', '.debug_line', '.debug_str_offsets', '.debug_addr', '.debug_rnglists', '.debug_line_str'];
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 16 }),
        (name, edits) => {
          const s = c5.get(name)!;
          const base = s.byteOffset - d5.byteOffset;
          const b = d5.slice();
          for (const [at, v] of edits) b[base + (at % s.length)] = v;
          exercise(b, p5);
        },
      ),
      { numRuns: 50, seed: 3 },
    );
  });
});

describe('decoders on random bytes', () => {
  const bytes = fc.uint8Array({ maxLength: 300 });

  it('line programs', () => {
    fc.assert(
      fc.property(bytes, fc.nat(20), (b, off) => {
        const t = decodeLineTable(b, off, 4);
        if (t) expect(t.rowCount).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 500, seed: 4 },
    );
    // A plausible DWARF 4 header followed by random opcodes.
    const header = [0, 0, 0, 0, 4, 0, 10, 0, 0, 0, 1, 1, 1, 0xfb, 14, 13, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (prog) => {
        const all = new Uint8Array([...header, ...prog]);
        new DataView(all.buffer).setUint32(0, all.length - 4, true);
        const t = decodeLineTable(all, 0, 4);
        expect(t).not.toBeNull();
      }),
      { numRuns: 500, seed: 5 },
    );
  });

  it('debug info, names, source map URL', () => {
    fc.assert(
      fc.property(bytes, bytes, bytes, (info, abbrev, str) => {
        const d = readDebugInfo({ info, abbrev, str });
        expect(Array.isArray(d.units)).toBe(true);
        readFunctionNames(info);
        readSourceMappingURL(info);
      }),
      { numRuns: 500, seed: 6 },
    );
  });

  it('whole modules: a valid header and random sections', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (rest) => {
        const b = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...rest]);
        const sym = Symbolizer.fromBinarySync(b);
        sym.sources();
        for (let i = 0; i < 4; i++) checkFrame(sym.frame(i, 8 + i * 10), i);
      }),
      { numRuns: 500, seed: 8 },
    );
  });
});
