/**
 * Inlined frames from DWARF's inline tree (DW_TAG_inlined_subroutine), on an -O2 fixture
 * (test/fixtures/runtime/inline.c: item_new() and item_named() from inline-lib.h are inlined
 * into make_lost() and main()). Symbolizer.frames() must list, innermost first, the functions
 * inlined at a position and then the real frame, as llvm-symbolizer-14 --inlining does: the
 * innermost at the line table's position, each other at the call site of the one inlined into it.
 * The expected frames of the allocation site are asserted directly; llvm-symbolizer-14, when
 * installed, is also asked about every instruction start of every function with inlined code.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Symbolizer } from '../../src/symbolize/index.js';
import { parseModule, walkInstructions } from '../../src/wasm/binary/index.js';
import { findCall, wasmBodies } from './helpers.js';

const FILE = fileURLToPath(new URL('../fixtures/runtime/inline.wasm', import.meta.url));
const bytes = new Uint8Array(readFileSync(FILE));
const { codeStart, bodies } = wasmBodies(bytes);
const m = parseModule(bytes);
const indexOf = (name: string): number => [...m.names!.functions].find(([, n]) => n === name)![0];
const bodyOf = (name: string) => bodies.find((b) => b.funcIndex === indexOf(name))!;
const sym = Symbolizer.fromBinarySync(bytes);
/** Paths as compared: llvm-symbolizer keeps DWARF's "././x.h"; "./" runs are not significant. */
const norm = (p: string | undefined): string | undefined => p?.replace(/^(\.\/)+/, '');
const brief = (fs: ReturnType<Symbolizer['frames']>) => fs.map((f) => [f.function, norm(f.file), f.line, f.inline ?? false]);

describe('inlined frames (Symbolizer.frames)', () => {
  it('the allocation site in make_lost: item_new and item_named inlined, then make_lost itself', () => {
    const call = findCall(bytes, bodyOf('make_lost'), indexOf('malloc'));
    const fs = sym.frames(indexOf('make_lost'), call);
    expect(brief(fs)).toEqual([
      ['item_new', 'inline-lib.h', 9, true],
      ['item_named', 'inline-lib.h', 18, true],
      ['make_lost', 'inline.c', 15, false],
    ]);
    // the real frame is frame(); the inlined ones share its offset, size and index
    expect(fs[2]).toEqual(sym.frame(indexOf('make_lost'), call));
    for (const f of fs.slice(0, 2)) expect(f).toMatchObject({ offset: fs[2]!.offset, size: fs[2]!.size, funcIndex: fs[2]!.funcIndex });
  });

  it('the same chain where main inlines them (the call site line is main\'s)', () => {
    const main = bodyOf('main');
    const call = findCall(bytes, main, indexOf('malloc'));
    expect(brief(sym.frames(main.funcIndex, call))).toEqual([
      ['item_new', 'inline-lib.h', 9, true],
      ['item_named', 'inline-lib.h', 18, true],
      ['main', 'inline.c', 21, false],
    ]);
  });

  it('code not inlined: frames() is [frame()]', () => {
    const b = bodyOf('make_lost');
    const last = b.start + b.size - 1;
    expect(sym.frames(b.funcIndex, last)).toEqual([sym.frame(b.funcIndex, last)]);
  });
});

const LLVM = 'llvm-symbolizer-14';
const haveLlvm = spawnSync(LLVM, ['--version']).status === 0;
if (!haveLlvm) console.warn(`\n*** SKIPPED: ${LLVM} is not installed; the comparison with llvm-symbolizer --inlining did not run (apt-get install llvm-14) ***\n`);

/** Every instruction start of the functions `names` picks (all when null). */
function probesOf(mod: ReturnType<typeof parseModule>, names: string[] | null): Array<[number, number]> {
  const probes: Array<[number, number]> = [];
  mod.bodies.forEach((body, i) => {
    const index = i + mod.importedFuncCount;
    if (names && !names.includes(mod.names?.functions.get(index) ?? '')) return;
    walkInstructions(mod.bytes, body.codeStart, body.end, (ins) => { probes.push([index, ins.start]); });
  });
  return probes;
}

/**
 * Asks llvm-symbolizer about each probe and compares: the inlined functions' names, then file and
 * line of every frame (the real frame's name is left out: ours is the name section's, e.g. main,
 * where llvm-symbolizer says DWARF's __main_argc_argv; llvm-symbolizer prefixes the compilation
 * directory to relative paths). Returns how many probes had inlined code.
 */
function compareWithLlvm(file: string, names: string[] | null): number {
  const b = new Uint8Array(readFileSync(file));
  const mod = parseModule(b);
  const code = wasmBodies(b).codeStart;
  const s = Symbolizer.fromBinarySync(b);
  const probes = probesOf(mod, names);
  const out = execFileSync(LLVM, [`--obj=${file}`, '--inlining', '--output-style=JSON'], {
    input: probes.map(([, off]) => `0x${(off - code).toString(16)}`).join('\n'), encoding: 'utf8', maxBuffer: 1 << 28,
  });
  const answers = out.trim().split('\n').map((l) => JSON.parse(l) as { Symbol: Array<{ FunctionName: string; FileName: string; Line: number }> });
  expect(answers.length).toBe(probes.length);
  let inlined = 0;
  probes.forEach(([index, off], i) => {
    const want = answers[i]!.Symbol;
    const got = s.frames(index, off);
    const where = `${file} 0x${(off - code).toString(16)}`;
    expect(got.map((f) => !!f.inline), where).toEqual(want.map((_, k) => k < want.length - 1));
    want.forEach((w, k) => {
      const g = got[k]!;
      if (g.inline) expect(g.function, where).toBe(w.FunctionName);
      if (w.Line === 0) expect(g.line, where).toBeUndefined();
      else {
        expect(g.line, where).toBe(w.Line);
        expect(norm(w.FileName)!.replace(/\/(\.\/)+/g, '/').endsWith(norm(g.file)!), where).toBe(true);
      }
    });
    if (want.length > 1) inlined++;
  });
  return inlined;
}

const SYMBOLIZE = (name: string): string => fileURLToPath(new URL(`../fixtures/symbolize/${name}`, import.meta.url));

describe.skipIf(!haveLlvm)(`agrees with ${LLVM} --inlining`, () => {
  it('inline.wasm (-O2): every instruction of the functions with inlined code', () => {
    expect(compareWithLlvm(FILE, ['make_lost', 'main'])).toBeGreaterThan(20);
  });

  it('widget.dwarf.wasm (C++, libc++ inlined) and simple.opt.wasm (DWARF rewritten by wasm-opt -g): every instruction', () => {
    expect(compareWithLlvm(SYMBOLIZE('widget.dwarf.wasm'), null)).toBeGreaterThan(1000);
    expect(compareWithLlvm(SYMBOLIZE('simple.opt.wasm'), null)).toBeGreaterThan(1000);
  });
});
