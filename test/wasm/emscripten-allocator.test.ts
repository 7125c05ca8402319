/**
 * Emscripten 3.1.6's dlmalloc (test/fixtures/emscripten, built by its build.sh with Debian's emcc):
 * malloc, free and realloc are aliases of dlmalloc, dlfree and dlrealloc, so the name section
 * and DWARF say only the dl names, and nothing exports malloc. Found by those names when the
 * module has them, else by code shape (its sbrk reads the heap size through
 * emscripten_get_heap_size and grows through emscripten_resize_heap; no wrappers). wasi-libc's
 * allocator, where malloc wraps a static dlmalloc, must keep being found as before (its own
 * tests: allocator-shape.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { instrument } from '../../src/wasm/instrument/index.js';
import { findAllocatorsByShape } from '../../src/wasm/instrument/allocator-shape.js';
import { parseModule, callGraph } from '../../src/wasm/binary/index.js';

const em = (name: string): Uint8Array => new Uint8Array(readFileSync(fileURLToPath(new URL(`../fixtures/emscripten/${name}`, import.meta.url))));
const found = (bytes: Uint8Array) => instrument(bytes).allocators.map((a) => `${a.name}:${a.source}`).sort();

describe("Emscripten's dlmalloc", () => {
  it('by its names when the module keeps them: dlmalloc is malloc, dlfree free, dlrealloc realloc', () => {
    const bytes = em('standalone.wasm');
    const m = parseModule(bytes);
    const names = m.names!.functions;
    expect([...names.values()]).not.toContain('malloc');
    const ins = instrument(bytes);
    expect(ins.allocators.map((a) => [a.name, names.get(a.index), a.source]).sort()).toEqual([
      ['free', 'dlfree', 'name-section'], ['malloc', 'dlmalloc', 'name-section'], ['realloc', 'dlrealloc', 'name-section'],
    ]);
  });

  it('by code shape when nothing names it (standalone -O2, and a normal build for the JS glue)', () => {
    expect(found(em('standalone.stripped.wasm'))).toEqual(['free:shape', 'malloc:shape']);
    expect(found(em('normal.wasm'))).toEqual(['free:shape', 'malloc:shape', 'realloc:shape']);
  });

  it('the shape is the one the names describe (names stripped from the named build keep indices)', () => {
    const bytes = em('standalone.wasm');
    const m = parseModule(bytes);
    const shape = findAllocatorsByShape(m, callGraph(m))!;
    const name = (i: number | null) => (i === null ? null : m.names!.functions.get(i));
    expect(shape.flavour).toBe('emscripten');
    expect([name(shape.malloc), name(shape.free), name(shape.realloc), name(shape.sbrk)]).toEqual(['dlmalloc', 'dlfree', 'dlrealloc', 'sbrk']);
  });
});
