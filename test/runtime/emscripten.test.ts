/**
 * `kmemleak run` on Emscripten -sSTANDALONE_WASM builds (test/fixtures/emscripten/leaks.c, which
 * loses exactly 3 blocks: 100 and 200 bytes from lose(), 4000 bytes grown by realloc). Before
 * Emscripten's allocator was known, these were "no allocator found".
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { reported, run } from './helpers.js';

const em = (name: string): string => fileURLToPath(new URL(`../fixtures/emscripten/${name}`, import.meta.url));

describe('kmemleak run on Emscripten standalone builds', () => {
  it('-O1 -g (the allocator named dlmalloc): exactly the 3 leaks, with their backtraces', async () => {
    const r = await run(em('standalone.wasm'));
    expect(r.out).toBe('leaks: done\n');
    expect(r.result).toMatchObject({ status: 23, programStatus: 0, leaks: 3 });
    expect(reported(r.err)).toEqual([
      { size: 100, fns: ['lose', '__original_main', '_start'] },
      { size: 200, fns: ['lose', '__original_main', '_start'] },
      { size: 4000, fns: ['__original_main', '_start'] },
    ]);
    expect(r.err).toMatch(/^    lose\+0x[0-9a-f]+\/0x[0-9a-f]+ leaks\.c:17$/m);
    expect(r.err).not.toMatch(/dlmalloc|nothing was tracked/);
  });

  it('-O2 without names (found by code shape): the same 3 leaks', async () => {
    const r = await run(em('standalone.stripped.wasm'));
    expect(r.out).toBe('leaks: done\n');
    expect(r.result).toMatchObject({ status: 23, leaks: 3 });
    expect(reported(r.err).map((o) => o.size)).toEqual([100, 200, 4000]);
  });
});
