/**
 * Finding wasi-libc's dlmalloc by code shape in binaries that name nothing: on stripped and
 * wasm-opt-linked builds it must find exactly what the name section of the same program calls
 * malloc/free/calloc/realloc/aligned_alloc/posix_memalign (stripping keeps function indices), the
 * rewritten stripped program must record the same allocations as the named one, and anything
 * that is not certainly dlmalloc (a bump allocator, a pool, an ambiguous second wrapper) must stay
 * "no allocator found" with the message unchanged.
 */
import { describe, expect, it } from 'vitest';
import binaryen from 'binaryen';
import { instrument, AllocatorNotFoundError, WasmFormatError } from '../../src/wasm/instrument/index.js';
import { findAllocators } from '../../src/wasm/instrument/allocators.js';
import { findAllocatorsByShape } from '../../src/wasm/instrument/allocator-shape.js';
import { parseModule, callGraph } from '../../src/wasm/binary/index.js';
import { fixture, runWasi, eventLines, saidLines } from './helpers.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** [stripped fixture, the same program with its names]. */
const PAIRS: Array<[string, string]> = [
  ['shape/simple.stripped.wasm', 'corpus/simple.wasm'],
  ['shape/calloc_strdup.stripped.wasm', 'corpus/calloc_strdup.wasm'],
  ['shape/realloc.stripped.wasm', 'corpus/realloc.wasm'],
  ['shape/realloc.linkopt.wasm', 'corpus/realloc.wasm'],
  ['shape/aligned_alloc.stripped.wasm', 'aligned_alloc.wasm'],
  ['shape/posix_memalign.stripped.wasm', 'posix_memalign.wasm'],
  ['malloc_free.stripped.wasm', 'malloc_free.wasm'],
  ['calloc.linkopt.wasm', 'calloc.wasm'],
];

const C_NAMES = new Set(['malloc', 'free', 'calloc', 'realloc', 'aligned_alloc', 'posix_memalign']);

function namedAllocators(file: string): Array<[string, number]> {
  const m = parseModule(fixture(file));
  const out: Array<[string, number]> = [];
  for (const [i, n] of m.names!.functions) if (C_NAMES.has(n)) out.push([n, i]);
  return out.sort((a, b) => a[1] - b[1]);
}

function byShape(file: string): Array<[string, number]> {
  const m = parseModule(fixture(file));
  return findAllocators(m, callGraph(m)).map((e): [string, number] => {
    expect(e.source).toBe('shape');
    return [e.name, e.index];
  }).sort((a, b) => a[1] - b[1]);
}

describe('dlmalloc found by shape equals the name section of the same program', () => {
  for (const [stripped, named] of PAIRS) {
    it(`${stripped} = names of ${named}`, () => {
      const m = parseModule(fixture(stripped));
      expect(m.names?.functions.size ?? 0).toBe(0);
      const want = namedAllocators(named);
      expect(want.length).toBeGreaterThan(0);
      expect(byShape(stripped)).toEqual(want);
    });
  }

  it('a named build never consults the shape', () => {
    expect(instrument(fixture('corpus/simple.wasm')).allocators.map((a) => a.source))
      .toEqual(['name-section', 'name-section']);
  });
});

describe('the rewritten stripped program records what the named one records', () => {
  for (const [stripped, named] of [PAIRS[0]!, PAIRS[1]!, PAIRS[3]!]) {
    it(stripped, () => {
      const a = runWasi(instrument(fixture(stripped)).binary);
      const b = runWasi(instrument(fixture(named)).binary);
      expect(a.exitCode).toBe(b.exitCode);
      expect(a.events.length).toBeGreaterThan(0);
      expect(eventLines(a.events)).toEqual(eventLines(b.events));
    });
  }
  for (const stripped of ['shape/aligned_alloc.stripped.wasm', 'shape/posix_memalign.stripped.wasm']) {
    it(`${stripped}: every allocation the program prints is recorded once`, () => {
      const run = runWasi(instrument(fixture(stripped)).binary);
      expect(saidLines(run.stdout).length).toBeGreaterThan(0);
      expect(eventLines(run.events)).toEqual(saidLines(run.stdout));
    });
  }
});

// clang --target=wasm32-wasi -O2 -g x.c -o x.wasm with binaryen on PATH: wasm-opt inlines the
// one-call malloc/free wrappers (and aligned_alloc, posix_memalign, realloc) into the program,
// which then calls dlmalloc, dlfree and internal_memalign itself. Those are wrapped, or nothing the
// program allocates would be seen (the peers' lsan_exit.c built so reported no leak).
describe('one-step -O2 builds: the program calls dlmalloc itself', () => {
  it('every_entry.o2: dlmalloc, dlfree and internal_memalign are the entry points', () => {
    const m = parseModule(fixture('shape/every_entry.o2.wasm'));
    expect(m.names?.functions.size ?? 0).toBe(0);
    const found = findAllocatorsByShape(m, callGraph(m))!;
    expect(found).not.toBeNull();
    expect(found.flavour).toBe('wasi-libc');
    expect(found.malloc).toBe(found.dlmalloc);
    expect(found.free).toBe(found.dlfree);
    expect(found.memalignEntry).not.toBeNull();
    expect(found.memalignEntry).toBe(found.memalign);
    expect(byShape('shape/every_entry.o2.wasm').map(([n]) => n).sort()).toEqual(['free', 'malloc', 'memalign']);
  });

  it('every_entry.o2: every block the program prints is recorded, at its own address and size', () => {
    const run = runWasi(instrument(fixture('shape/every_entry.o2.wasm')).binary);
    const said = saidLines(run.stdout);
    expect(said.length).toBe(8);
    // The first two are wasi-libc's argv blocks (its start-up code called dlmalloc directly too);
    // realloc's body is inlined: it records its dlmalloc before its dlfree.
    const events = eventLines(run.events);
    expect(events.slice(0, 2).map((l) => l.split(' ')[0])).toEqual(['A', 'A']);
    expect(events.slice(2).sort()).toEqual([...said].sort());
  });

  it("the peers' lsan_exit.c at -O2: its malloc and free are found", () => {
    const bytes = new Uint8Array(readFileSync(fileURLToPath(new URL('../fixtures/peers/lsan_exit_o2.wasm', import.meta.url))));
    const m = parseModule(bytes);
    const found = findAllocatorsByShape(m, callGraph(m))!;
    expect(found.malloc).toBe(found.dlmalloc);
    expect(found.free).toBe(found.dlfree);
  });
});

describe('not dlmalloc, or not certain: still "no allocator found"', () => {
  const runtimeFixture = (name: string): Uint8Array<ArrayBuffer> =>
    new Uint8Array(readFileSync(fileURLToPath(new URL(`../fixtures/runtime/${name}`, import.meta.url))));

  it('a bump allocator (runtime/custom.wasm): message unchanged', () => {
    const m = parseModule(runtimeFixture('custom.wasm'));
    expect(findAllocatorsByShape(m, callGraph(m))).toBeNull();
    expect(() => instrument(runtimeFixture('custom.wasm'))).toThrow(AllocatorNotFoundError);
    expect(() => instrument(runtimeFixture('custom.wasm'))).toThrow(new RegExp('^no allocator found: looked for ' +
      'malloc, calloc, realloc, free, .* in the name section and the exports; ' +
      'name them with --allocator malloc=NAME,free=NAME'));
  });

  it('a stripped program with its own pool and no malloc linked: one line naming what was tried', () => {
    let err: unknown;
    try {
      instrument(fixture('shape/custom_pool.stripped.wasm'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AllocatorNotFoundError);
    expect(err).toBeInstanceOf(WasmFormatError);
    const msg = (err as Error).message;
    expect(msg).not.toContain('\n');
    expect(msg).toMatch(/^no allocator found: looked for malloc, calloc, realloc, free, .* in the exports/);
    expect(msg).toMatch(new RegExp('^no allocator found: looked for malloc, calloc, realloc, free, .* in the exports ' +
      '\\(the module has no name section and no usable debug info\\); name them with --allocator'));
    expect(msg).toContain('--allocator malloc=NAME,free=NAME');
  });

  it('a second function shaped like the malloc wrapper makes malloc ambiguous: nothing is found', () => {
    const base = fixture('shape/simple.stripped.wasm');
    const ours = parseModule(base);
    const found = findAllocatorsByShape(ours, callGraph(ours))!;
    expect(found).not.toBeNull();
    const roundTrip = (extra: boolean): Uint8Array<ArrayBuffer> => {
      const mod = binaryen.readBinary(base);
      try {
        if (extra) {
          const dl = binaryen.getFunctionInfo(mod.getFunctionByIndex(found.dlmalloc)).name;
          mod.addFunction('decoy', binaryen.createType([binaryen.i32]), binaryen.i32, [],
            mod.call(dl, [mod.local.get(0, binaryen.i32)], binaryen.i32));
          mod.addFunctionExport('decoy', 'decoy');
        }
        return new Uint8Array(mod.emitBinary());
      } finally {
        mod.dispose();
      }
    };
    // Control: binaryen's re-encoding alone keeps the allocator recognisable.
    const same = parseModule(roundTrip(false));
    expect(findAllocatorsByShape(same, callGraph(same))?.malloc).toBe(found.malloc);
    const decoyed = parseModule(roundTrip(true));
    expect(findAllocatorsByShape(decoyed, callGraph(decoyed))).toBeNull();
  });
});
