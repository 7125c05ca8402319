/**
 * A one-step optimised build (`clang --target=wasm32-wasi -O1 -g x.c -o x.wasm` with binaryen on
 * PATH: clang runs wasm-opt without -g, which drops the name section and leaves DWARF's code
 * addresses all zero). Run with arguments, argv and its strings (wasi-libc's start-up blocks) must
 * not be reported although no name says __main_void, a real leak is still found, and one line
 * says why frames have no names and how to build so that they do.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Symbolizer } from '../../src/symbolize/index.js';
import { fixture, reported, run } from './helpers.js';

const onestep = fixture('onestep.wasm');
const HINT = /^kmemleak: frames have no names: the module has no name section and its DWARF does not match its code \(wasm-opt rewrote it without -g[^\n]*; to keep names, compile and link in two steps \(clang -O1 -g -c x\.c; clang -g x\.o -o x\.wasm\)[^\n]*\n$/m;

describe('a one-step optimised build (no names, DWARF addresses zero)', () => {
  it('the fixture is such a build: DWARF present, yet no source names its functions', () => {
    const bytes = new Uint8Array(readFileSync(onestep));
    const sym = Symbolizer.fromBinarySync(bytes);
    expect(sym.sources()).toEqual([]);
    expect(sym.functionName(10)).toBeNull();
    expect(sym.unnamedReason()).toMatch(/DWARF does not match its code/);
  });

  it('run with arguments, a program that leaks nothing has no report (argv is start-up memory)', async () => {
    const r = await run(onestep, ['a', 'bb', 'ccc']);
    expect(r.out).toBe('a\nbb\nccc\n');
    expect(r.result).toMatchObject({ status: 0, programStatus: 0, leaks: 0 });
    expect(r.err).toBe('');
  });

  it('the same with stacks off', async () => {
    const r = await run(onestep, ['a', 'bb'], { traceDepth: 0 });
    expect(r.result).toMatchObject({ status: 0, leaks: 0 });
    expect(r.err).toBe('');
  });

  it('a real leak is reported, exactly it, and one line says why frames have no names and how to keep them', async () => {
    const r = await run(onestep, ['leak', 'x']);
    expect(r.result).toMatchObject({ status: 23, programStatus: 0, leaks: 1 });
    expect(reported(r.err)).toHaveLength(1);
    expect(reported(r.err)[0]!.size).toBe(48);
    expect(r.err).toMatch(/^    wasm-function\[\d+\]\+0x[0-9a-f]+\/0x[0-9a-f]+$/m);
    expect(r.err).toMatch(HINT);
    expect(r.err.match(/frames have no names/g)).toHaveLength(1);
  });

  it('a binary that names its functions gets no such line', async () => {
    const r = await run(fixture('tool.wasm'), ['leak', '1']);
    expect(r.result.leaks).toBe(1);
    expect(r.err).not.toMatch(/frames have no names/);
  });
});
