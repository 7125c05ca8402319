/**
 * The static layout: writable static data (.data + .bss, not .rodata), the stack, and the
 * allocator's private state, for every kind of build; and the reason the exclusion exists: a
 * kmemleak-style scan of the corpus at exit misses leaks when dlmalloc's state is a root.
 */
import { describe, expect, it } from 'vitest';
import { staticLayout, type Range } from '../../src/wasm/layout/index.js';
import { privateFromCode } from '../../src/wasm/layout/allocator-state.js';
import { collectStaticRefs } from '../../src/wasm/layout/static-refs.js';
import { parseModule, callGraph, ByteWriter } from '../../src/wasm/binary/index.js';
import { instrument } from '../../src/wasm/instrument/index.js';
import { fixture, runWasi, validFixtures } from './helpers.js';

const hex = (r: Range | null | undefined): string => (r ? `[0x${r.start.toString(16)}, 0x${r.end.toString(16)})` : 'null');

describe('corpus layouts (wasm-ld default layout, names and DWARF present)', () => {
  // What the layout finds for each corpus program: writable static data, and dlmalloc's _gm_ and
  // mparams (adjacent, so one range) to leave out of the roots.
  const want: Record<string, [string, string]> = {
    annotated_not_leak: ['[0x420, 0xab0)', '[0x4a4, 0x694)'],
    annotated_pool: ['[0x418, 0xcd0)', 'none'],
    annotated_scan_area: ['[0x420, 0xac0)', '[0x4ac, 0x69c)'],
    calloc_strdup: ['[0x430, 0xac0)', '[0x4b4, 0x6a4)'],
    cycle: ['[0x410, 0xaa0)', '[0x494, 0x684)'],
    interior: ['[0xd60, 0x1490)', '[0xe58, 0x1048)'],
    list: ['[0xd60, 0x1490)', '[0xe58, 0x1048)'],
    many: ['[0x410, 0x4920)', '[0x4314, 0x4504)'],
    realloc: ['[0xd60, 0x1490)', '[0xe58, 0x1048)'],
    simple: ['[0x420, 0xac0)', '[0x4a8, 0x698)'],
    stack_exit: ['[0xd70, 0x14a0)', '[0xe64, 0x1054)'],
    stack_off: ['[0xd70, 0x14a0)', '[0xe64, 0x1054)'],
    widget: ['[0xd90, 0x14c0)', '[0xe8c, 0x107c)'],
  };
  for (const [name, [writable, priv]] of Object.entries(want)) {
    it(name, () => {
      const bytes = fixture(`corpus/${name}.wasm`);
      const L = staticLayout(bytes);
      expect(L.stackFirst).toBe(false);
      expect(L.dataStart).toBe(0x400);
      expect(hex(L.writable)).toBe(writable);
      expect(L.rodata!.start).toBe(0x400);
      expect(L.rodata!.end).toBeLessThanOrEqual(L.writable!.start);
      expect(L.allocatorPrivate.map(hex).join(' ') || 'none').toBe(priv);
      expect(L.allocatorPrivate.every((r) => r.source === 'dwarf')).toBe(true);
      // the stack lies right above .bss (wasm-ld default stack size)
      expect(L.stackTop! - L.writable!.end).toBe(65536);
      expect(L.notes).toEqual(name === 'annotated_pool' ? [expect.stringMatching(/allocator entry points unknown/)] : []);
      // roots = writable minus the private ranges
      const covered = L.roots.reduce((n, r) => n + r.end - r.start, 0) +
        L.allocatorPrivate.reduce((n, r) => n + r.end - r.start, 0);
      expect(covered).toBe(L.writable!.end - L.writable!.start);
    });
  }

  it('the allocator\'s code gives the same private ranges as DWARF', () => {
    for (const name of validFixtures().filter((f) => f.startsWith('corpus/') && !f.includes('annotated_pool'))) {
      const bytes = fixture(name);
      const m = parseModule(bytes);
      const L = staticLayout(m);
      const entries = instrument(bytes).allocators.map((a) => a.index);
      const fromCode = privateFromCode(m, callGraph(m), collectStaticRefs(m, L.writable!.start, L.writable!.end), entries);
      expect(fromCode.map(hex), name).toEqual(L.allocatorPrivate.map(hex));
    }
  });
});

describe('other builds', () => {
  it('--stack-first: the stack lies below the data; .bss ends at the heap base', () => {
    const L = staticLayout(fixture('layout_stack_first.wasm'));
    expect(L.stackFirst).toBe(true);
    expect(L.stackTop).toBe(65536);
    expect(L.dataStart).toBe(65536);
    expect(L.stackLow).toBe(0);
    // wasm-ld (same objects, linked with --export=__data_end,__heap_base) says 70036 and 70048
    expect(L.writable!.end).toBeGreaterThanOrEqual(70036);
    expect(L.writable!.end).toBeLessThanOrEqual(70048);
    expect(L.allocatorPrivate.map((r) => r.name)).toEqual(['_gm_, mparams']);
  });

  it('exported __heap_base and __data_end are used as they are', () => {
    const bytes = fixture('layout_exports.wasm');
    const m = parseModule(bytes);
    const exported = (n: string): number => {
      const e = m.exports.find((x) => x.name === n)!;
      return (m.globals[e.index - m.importedGlobalCount]!.init.value as { value: number }).value;
    };
    const L = staticLayout(m);
    expect(L.dataEnd).toBe(exported('__data_end'));
    expect(L.heapBase).toBe(exported('__heap_base'));
    expect(L.writable!.end).toBe(L.dataEnd);
    // .rodata holds the const table; it is not writable
    expect(L.segments.map((s) => [s.name, s.kind])).toEqual([['.rodata', 'rodata'], ['.data', 'data']]);
  });

  it('a stack smaller than 64 KiB: .bss ends at the highest static data DWARF and the code show', () => {
    const L = staticLayout(fixture('layout_small_stack.wasm'));
    expect(L.stackTop).toBe(38112);
    expect(L.writable!.end).toBe(0x14e0); // wasm-ld's __data_end is 0x14dc, aligned up to 16
    expect(L.notes.join()).toMatch(/the stack is smaller/);
  });

  it('release link (wasm-opt: no names, segments split): DWARF variables place .data and the state', () => {
    const named = staticLayout(fixture('calloc.wasm'));
    const L = staticLayout(fixture('calloc.linkopt.wasm'));
    expect(parseModule(fixture('calloc.linkopt.wasm')).names).toBeNull();
    expect(L.segments.length).toBeGreaterThan(2);
    expect(hex(L.writable)).toBe(hex(named.writable));
    expect(L.allocatorPrivate.map(hex)).toEqual(named.allocatorPrivate.map(hex));
    expect(L.stackPointer?.source).toBe('heuristic');
  });

  it('fully stripped: segment order and the stack give the same writable range; state from the code', () => {
    const named = staticLayout(fixture('malloc_free.wasm'));
    const L = staticLayout(fixture('malloc_free.stripped.wasm'));
    expect(hex(L.writable)).toBe(hex(named.writable));
    // dlmalloc's entry points come from its code shape (allocator-shape.ts), so its state too.
    expect(L.allocatorPrivate.map(hex)).toEqual(named.allocatorPrivate.map(hex));
    const entries = instrument(fixture('malloc_free.wasm')).allocators.map((a) => a.index);
    const withEntries = staticLayout(fixture('malloc_free.stripped.wasm'), { allocatorEntries: entries });
    expect(withEntries.allocatorPrivate.map(hex)).toEqual(named.allocatorPrivate.map(hex));
    expect(withEntries.allocatorPrivate[0]!.source).toBe('code');
  });

  it('no data segments at all: .bss from the global base to the stack', () => {
    const L = staticLayout(fixture('trap.wasm'));
    expect(L.segments).toEqual([]);
    expect(hex(L.writable)).toBe('[0x400, 0x600)'); // wasm-ld: __data_end 0x5f8
    expect(L.allocatorPrivate.map(hex)).toEqual(['[0x404, 0x5f4)']);
  });

  it('Emscripten-style: emscripten_stack_get_end() returning a constant bounds .bss (a 5 MiB stack)', () => {
    // memory 100 pages; data at 1024; stack pointer 0x500000 + 0x1000; the stack's end 0x1000
    const w = new ByteWriter(256);
    w.bytes(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    const section = (id: number, body: (b: ByteWriter) => void): void => {
      const b = new ByteWriter(64);
      body(b);
      w.u8(id);
      w.u32(b.len);
      w.bytes(b.view());
    };
    section(1, (b) => { b.u32(1); b.u8(0x60); b.u32(0); b.u32(1); b.u8(0x7f); });
    section(3, (b) => { b.u32(1); b.u32(0); });
    section(5, (b) => { b.u32(1); b.u8(0); b.u32(100); });
    section(6, (b) => { b.u32(1); b.u8(0x7f); b.u8(1); b.u8(0x41); b.s32(0x501000); b.u8(0x0b); });
    section(7, (b) => { b.u32(1); b.name('emscripten_stack_get_end'); b.u8(0); b.u32(0); });
    section(10, (b) => {
      const body = new ByteWriter(16);
      body.u32(0); body.u8(0x41); body.s32(0x1000); body.u8(0x0b);
      b.u32(1); b.u32(body.len); b.bytes(body.view());
    });
    section(11, (b) => { b.u32(1); b.u32(0); b.u8(0x41); b.s32(1024); b.u8(0x0b); b.u32(4); b.bytes(new Uint8Array([1, 2, 3, 4])); });
    const L = staticLayout(w.result());
    expect(L.stackTop).toBe(0x501000);
    expect(hex(L.writable)).toBe('[0x400, 0x1000)');
    expect(L.stackLow).toBe(0x1000);
  });

  it('bad input is a one-line error', () => {
    expect(() => staticLayout(fixture('bad_magic.wasm'))).toThrow('not a wasm module (bad magic)');
  });
});

/**
 * A kmemleak-style scan of the program's memory at exit: objects referenced (interior pointers
 * count, aligned 4-byte words) from the roots, transitively through referenced objects only.
 */
function unreferenced(mem: Uint8Array, objects: Map<number, number>, roots: Range[]): number[] {
  const starts = [...objects.keys()].sort((a, b) => a - b);
  const find = (v: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]! <= v) lo = mid + 1;
      else hi = mid - 1;
    }
    if (hi < 0) return -1;
    const s = starts[hi]!;
    return v < s + Math.max(1, objects.get(s)!) ? s : -1;
  };
  const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  const black = new Set<number>();
  const grey: number[] = [];
  const scan = (start: number, end: number, self: number): void => {
    for (let a = (start + 3) & ~3; a + 4 <= end; a += 4) {
      const o = find(dv.getUint32(a, true));
      if (o >= 0 && o !== self && !black.has(o)) {
        black.add(o);
        grey.push(o);
      }
    }
  };
  for (const r of roots) scan(r.start, r.end, -1);
  while (grey.length) {
    const o = grey.pop()!;
    scan(o, o + objects.get(o)!, o);
  }
  return starts.filter((s) => !black.has(s));
}

describe('leaving the allocator\'s state out of the roots', () => {
  const run = (name: string): { withState: number[]; without: number[]; sizes: Map<number, number> } => {
    const bytes = fixture(`corpus/${name}.wasm`);
    const r = instrument(bytes);
    const L = staticLayout(bytes, { allocatorEntries: r.allocators.map((a) => a.index) });
    const res = runWasi(r.binary);
    const live = new Map<number, number>();
    for (const e of res.events) {
      if (e.kind === 'free') live.delete(e.ptr);
      else {
        if (e.kind === 'realloc' && e.old) live.delete(e.old);
        live.set(e.ptr, e.size);
      }
    }
    const mem = new Uint8Array((res.instance.exports[r.exports.memory] as WebAssembly.Memory).buffer);
    const sp = (res.instance.exports[r.exports.stackPointer!] as WebAssembly.Global).value as number;
    const stack: Range = { start: sp, end: L.stackTop! };
    return {
      withState: unreferenced(mem, live, [L.writable!, stack]),
      without: unreferenced(mem, live, [...L.roots, stack]),
      sizes: live,
    };
  };

  it('calloc_strdup: both leaks are found only with the exclusion', () => {
    const { withState, without, sizes } = run('calloc_strdup');
    expect(without.map((p) => sizes.get(p)).sort()).toEqual([27, 96]);
    expect(withState.length).toBeLessThan(2);
  });

  it('many: all 3000 leaks are found only with the exclusion', () => {
    const { withState, without, sizes } = run('many');
    expect(without).toHaveLength(3000);
    expect(without.filter((p) => sizes.get(p) === 40)).toHaveLength(2000);
    expect(withState.length).toBeLessThan(3000);
  });
});
