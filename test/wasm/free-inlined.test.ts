/**
 * A one-step -O2 build whose program calls free() from one place: wasm-opt inlines dlfree into
 * main, so no free can be seen (test/fixtures/wasm/free_inlined.c, built by test/fixtures/build.sh).
 * Tracking it reported all 100 freed blocks as leaks (103 where LeakSanitizer finds 3). The shape
 * finder refuses it and says why; the program runs untracked, its output and status its own.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { findAllocatorsByShape, FREE_INLINED, type ShapeRefusal } from '../../src/wasm/instrument/allocator-shape.js';
import { parseModule, callGraph } from '../../src/wasm/binary/index.js';
import { fixture } from './helpers.js';
import { run } from '../runtime/helpers.js';

const FILE = 'shape/free_inlined.o2.wasm';

describe('free inlined into the program (one-step -O2, one free call site)', () => {
  it('the shape finder refuses it, with the reason', () => {
    const m = parseModule(fixture(FILE));
    const why: ShapeRefusal = {};
    expect(findAllocatorsByShape(m, callGraph(m), why)).toBeNull();
    expect(why.reason).toBe(FREE_INLINED);
  });

  it('kmemleak run: untracked, one line says why, no freed block reported', async () => {
    const r = await run(fileURLToPath(new URL(`../fixtures/wasm/${FILE}`, import.meta.url)));
    expect(r.out).toBe('free_inlined: done\n');
    expect(r.result).toMatchObject({ status: 0, programStatus: 0, leaks: 0 });
    expect(r.err).not.toMatch(/unreferenced object/);
    expect(r.err).toContain(`no allocator tracked: ${FREE_INLINED}`);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});
