/**
 * The symbolizer end to end on the corpus program simple.c built several ways (see
 * test/fixtures/symbolize/build.sh), and against llvm-symbolizer-14's answers for probes in every
 * function of the DWARF builds.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Symbolizer } from '../../src/symbolize/index.js';
import { formatFrame } from '../../src/report/text.js';
import { findCall, fixture, fixtureText, FIXTURES, wasmBodies } from './helpers.js';

// simple.c: make_lost is function 7 and calls malloc (function 8) on line 9.
const MAKE_LOST = 7;
const MALLOC = 8;
const MALLOC_LINE = 9;

function callSite(name: string): { bytes: Uint8Array; offset: number; start: number; size: number } {
  const bytes = fixture(name);
  const body = wasmBodies(bytes).bodies.find((b) => b.funcIndex === MAKE_LOST)!;
  return { bytes, offset: findCall(bytes, body, MALLOC), start: body.start, size: body.size };
}

describe('simple.c built three ways', () => {
  it('with names: make_lost, simple.c:9', async () => {
    const { bytes, offset, start, size } = callSite('simple.names.wasm');
    const sym = await Symbolizer.fromBinary(bytes);
    expect(sym.sources()).toEqual(['name', 'dwarf']);
    const f = sym.frame(MAKE_LOST, offset);
    expect(f).toMatchObject({ function: 'make_lost', offset: offset - start, size, funcIndex: MAKE_LOST, line: MALLOC_LINE });
    expect(f.file).toMatch(/(^|\/)simple\.c$/);
    expect(f.column).toBe(13);
    expect(formatFrame(f)).toBe(`make_lost+0x${(offset - start).toString(16)}/0x${size.toString(16)} ${f.file}:9`);
    // The name section wins: wasm-ld calls main's body __original_main, DWARF calls it main.
    expect(sym.functionName(6)).toBe('__original_main');
  });

  for (const [name, what] of [
    ['simple.dwarf.wasm', 'DWARF 4, names stripped'],
    ['simple.dwarf5.wasm', 'DWARF 5, names stripped'],
    ['simple.opt.wasm', 'wasm-opt -g -O1, names stripped'],
  ] as const) {
    it(`${what}: the name and line come from DWARF`, async () => {
      const { bytes, offset, start, size } = callSite(name);
      const sym = await Symbolizer.fromBinary(bytes);
      expect(sym.sources()).toEqual(['dwarf']);
      const f = sym.frame(MAKE_LOST, offset);
      expect(f).toMatchObject({ function: 'make_lost', offset: offset - start, size, line: MALLOC_LINE });
      expect(f.file).toMatch(/(^|\/)simple\.c$/);
      expect(sym.functionName(6)).toBe('main');
    });
  }

  it('with nothing left: wasm-function[N]', async () => {
    const { bytes, offset, start, size } = callSite('simple.none.wasm');
    const sym = await Symbolizer.fromBinary(bytes);
    expect(sym.sources()).toEqual([]);
    const f = sym.frame(MAKE_LOST, offset);
    expect(f).toEqual({ function: null, offset: offset - start, size, funcIndex: MAKE_LOST });
    expect(formatFrame(f)).toBe(`wasm-function[7]+0x${(offset - start).toString(16)}/0x${size.toString(16)}`);
  });

  it('LINK_OPT=-O1 build: wasm-opt without -g zeroed the DWARF, so it is not believed', async () => {
    const bytes = fixture('simple.linkopt.wasm');
    const sym = await Symbolizer.fromBinary(bytes);
    // The sections are there (all addresses 0, no line rows) but describe no function.
    expect(sym.sources()).toEqual([]);
    for (const b of wasmBodies(bytes).bodies) {
      const f = sym.frame(b.funcIndex, b.start + (b.size >>> 1));
      expect(f.function).toBeNull();
      expect(f.line).toBeUndefined();
    }
  });
});

describe('source maps', () => {
  const mapText = fixtureText('simple.map.wasm.map');

  it('found through the sourceMappingURL section', async () => {
    const { bytes, offset } = callSite('simple.map.wasm');
    const asked: string[] = [];
    const sym = await Symbolizer.fromBinary(bytes, {
      loadSourceMap: (url) => {
        asked.push(url);
        return readFileSync(FIXTURES + url, 'utf8');
      },
    });
    expect(asked).toEqual(['simple.map.wasm.map']);
    expect(sym.sourceMappingURL()).toBe('simple.map.wasm.map');
    expect(sym.sources()).toEqual(['sourcemap']);
    const f = sym.frame(MAKE_LOST, offset);
    expect(f.function).toBeNull();
    expect(f.file).toBe('/work/shared/corpus/simple.c');
    expect(f.line).toBe(MALLOC_LINE);
    expect(f.column).toBe(13);
  });

  it('given as an option, it wins over the section; DWARF wins over it', async () => {
    const { bytes, offset } = callSite('simple.none.wasm');
    const sym = await Symbolizer.fromBinary(bytes, { sourceMap: mapText });
    expect(sym.frame(MAKE_LOST, offset).line).toBe(MALLOC_LINE);

    // A map that says bogus.c:999 at the call: DWARF, when present, still answers.
    const bogus = (at: number): string =>
      JSON.stringify({ version: 3, sources: ['bogus.c'], names: [], mappings: `${vlq(at)}A${vlq(998)}A` });
    const named = callSite('simple.names.wasm');
    const withDwarf = await Symbolizer.fromBinary(named.bytes, { sourceMap: bogus(named.offset) });
    expect(withDwarf.sources()).toEqual(['name', 'dwarf', 'sourcemap']);
    expect(withDwarf.frame(MAKE_LOST, named.offset)).toMatchObject({ line: MALLOC_LINE });
    const bare = callSite('simple.none.wasm');
    const mapOnly = await Symbolizer.fromBinary(bare.bytes, { sourceMap: bogus(bare.offset) });
    expect(mapOnly.frame(MAKE_LOST, bare.offset + 1)).toMatchObject({ file: 'bogus.c', line: 999, column: 1 });
  });

  it('a data: URL in the section needs no loader', async () => {
    const bytes = fixture('simple.none.wasm');
    const url = `data:application/json;base64,${Buffer.from(mapText).toString('base64')}`;
    const withUrl = appendCustomSection(bytes, 'sourceMappingURL', url);
    const sym = await Symbolizer.fromBinary(withUrl);
    const { offset } = callSite('simple.none.wasm');
    expect(sym.frame(MAKE_LOST, offset).line).toBe(MALLOC_LINE);
  });

  it('an unreadable or broken map only means no map', async () => {
    const bytes = fixture('simple.map.wasm');
    const failing = await Symbolizer.fromBinary(bytes, { loadSourceMap: () => { throw new Error('ENOENT'); } });
    expect(failing.sources()).toEqual([]);
    const broken = await Symbolizer.fromBinary(bytes, { sourceMap: '{"version":3,"mappings":"!!!"' });
    expect(broken.sources()).toEqual([]);
    const notAMap = await Symbolizer.fromBinary(bytes, { sourceMap: '[1,2]' });
    expect(notAMap.sources()).toEqual([]);
  });

  it('never answers from the previous function\'s last mapping', async () => {
    const bytes = fixture('simple.none.wasm');
    const body = wasmBodies(bytes).bodies.find((b) => b.funcIndex === MAKE_LOST)!;
    // One mapping, in function 6; nothing in make_lost.
    const map = JSON.stringify({
      version: 3, sources: ['x.c'], names: [],
      mappings: `${vlq(body.start - 4)}AAA`,
    });
    const sym = await Symbolizer.fromBinary(bytes, { sourceMap: map });
    expect(sym.frame(MAKE_LOST, body.start + 10).line).toBeUndefined();
    expect(sym.frame(6, body.start - 2).file).toBe('x.c');
  });
});

describe('frames at the edges', () => {
  it('imports, unknown indexes and offsets outside the body', async () => {
    const sym = await Symbolizer.fromBinary(fixture('simple.names.wasm'));
    expect(sym.frame(0, 0)).toEqual({
      function: '__imported_wasi_snapshot_preview1_fd_close', offset: 0, size: 0, funcIndex: 0,
    });
    expect(sym.frame(100000, 5)).toEqual({ function: null, offset: 0, size: 0, funcIndex: 100000 });
    expect(sym.frame(-1, 5).function).toBeNull();
    expect(sym.frame(1.5, 5).function).toBeNull();
    const body = wasmBodies(fixture('simple.names.wasm')).bodies.find((b) => b.funcIndex === MAKE_LOST)!;
    expect(sym.frame(MAKE_LOST, 0)).toMatchObject({ function: 'make_lost', offset: 0 });
    expect(sym.frame(MAKE_LOST, 0).line).toBeUndefined();
    expect(sym.frame(MAKE_LOST, body.start + body.size + 100).offset).toBe(body.size);
  });

  it('the sync factory has names and DWARF', () => {
    const { bytes, offset } = callSite('simple.dwarf.wasm');
    const sym = Symbolizer.fromBinarySync(bytes);
    expect(sym.frame(MAKE_LOST, offset)).toMatchObject({ function: 'make_lost', line: MALLOC_LINE });
  });
});

describe('agrees with llvm-symbolizer-14 (committed answers)', () => {
  for (const name of ['simple.dwarf', 'simple.dwarf5', 'simple.opt', 'widget.dwarf']) {
    it(`${name}.wasm: every function, three probes each`, async () => {
      const sym = await Symbolizer.fromBinary(fixture(`${name}.wasm`));
      const lines = fixtureText(`${name}.symbolizer.txt`).trim().split('\n');
      expect(lines.length).toBeGreaterThan(100);
      let named = 0, located = 0;
      for (const l of lines) {
        const [index, , offset, fn, where] = l.split('\t') as [string, string, string, string, string];
        const f = sym.frame(Number(index), Number(offset));
        const ctx = `${name} ${l}`;
        if (fn === '??') expect(f.function, ctx).toBeNull();
        else {
          expect(f.function, ctx).toBe(fn);
          named++;
        }
        const m = /^(.*):(\d+)$/.exec(where)!;
        if (m[2] === '0') {
          expect(f.line, ctx).toBeUndefined();
        } else {
          expect(f.line, ctx).toBe(Number(m[2]));
          // llvm-symbolizer also prepends the compilation directory to relative paths.
          expect(m[1]!.replace(/\/\.\//g, '/').endsWith(f.file!.replace(/^\.\//, '')), ctx).toBe(true);
          located++;
        }
      }
      expect(named).toBeGreaterThan(lines.length * 0.9);
      expect(located).toBeGreaterThan(lines.length * 0.5);
    });
  }
});

function vlq(n: number): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let v = n < 0 ? (-n << 1) | 1 : n << 1;
  let out = '';
  do {
    let digit = v & 31;
    v >>>= 5;
    if (v) digit |= 32;
    out += chars[digit];
  } while (v);
  return out;
}

function appendCustomSection(bytes: Uint8Array, name: string, content: string): Uint8Array {
  const leb = (n: number): number[] => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n) b |= 0x80;
      out.push(b);
    } while (n);
    return out;
  };
  const str = (s: string): number[] => {
    const b = [...Buffer.from(s)];
    return [...leb(b.length), ...b];
  };
  const payload = [...str(name), ...str(content)];
  return new Uint8Array([...bytes, 0, ...leb(payload.length), ...payload]);
}
