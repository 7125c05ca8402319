/**
 * LeakSanitizer's exit semantics: the exit check runs when main returns or exit() is called
 * (after the atexit handlers), not on _exit()/_Exit(). lsan_exit.c leaks 80 bytes in every mode;
 * the statuses are the ones clang -fsanitize=leak gives natively for the same source.
 */
import { describe, expect, it } from 'vitest';
import { exitKindOf } from '../../src/peers/exit-kind.js';
import { reported, runPeer } from './helpers.js';

const prog = 'lsan_exit.wasm';

describe('which exits check', () => {
  const cases: Array<[mode: string, status: number, checked: boolean]> = [
    ['return', 23, true],
    ['return3', 23, true],    // main returning 3: exit(3) from _start, checked, exitcode wins
    ['exit', 23, true],       // exit(0) from a nested call
    ['exit4', 23, true],
    ['_exit', 0, false],
    ['_exit5', 5, false],
    ['_Exit', 0, false],
    ['atexit', 23, true],     // the 81-byte block freed by an atexit handler is no leak
  ];
  for (const [mode, status, checked] of cases) {
    it(`${mode}: status ${status}, ${checked ? 'checked' : 'not checked'}`, async () => {
      const r = await runPeer(prog, [mode]);
      expect(r.out).toBe(`${mode}: leaked\n`);
      expect(r.result.status).toBe(status);
      expect(reported(r.err).map((o) => o.size)).toEqual(checked ? [80] : []);
    });
  }

  it('a stripped release build (no name section): the same statuses, from the code\'s shape', async () => {
    const got: Array<[string, number, number]> = [];
    for (const [mode] of cases) {
      const r = await runPeer('lsan_exit_stripped.wasm', [mode]);
      got.push([mode, r.result.status, r.result.leaks]);
    }
    expect(got).toEqual(cases.map(([mode, status, checked]) => [mode, status, checked ? 1 : 0]));
  });

  it('a one-step -O2 build (wasm-opt inlined malloc and free into the program): the same statuses and leaks', async () => {
    const got: Array<[string, number, number]> = [];
    for (const [mode] of cases) {
      const r = await runPeer('lsan_exit_o2.wasm', [mode]);
      got.push([mode, r.result.status, r.result.leaks]);
    }
    expect(got).toEqual(cases.map(([mode, status, checked]) => [mode, status, checked ? 1 : 0]));
  });

  it('--exitcode 0: the program\'s own status after a checked exit', async () => {
    const r = await runPeer(prog, ['exit4'], { raw: { exitcode: '0' } });
    expect(r.result.status).toBe(4);
    expect(r.result.leaks).toBe(1);
  });

  it('report files are still written (empty) when no check ran', async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const json = join(mkdtempSync(join(tmpdir(), 'kml-peers-')), 'r.json');
    const r = await runPeer(prog, ['_exit'], { raw: { json } });
    expect(r.result.status).toBe(0);
    expect(JSON.parse(readFileSync(json, 'utf8'))).toMatchObject({ leaks: [], summary: { leaks: 0 } });
  });
});

describe('exitKindOf (frames innermost first)', () => {
  it('exit() on the stack is a full exit, even above _Exit', () => {
    expect(exitKindOf(['__wasi_proc_exit', '_Exit', 'exit', 'main'])).toBe('full');
    expect(exitKindOf(['__wasi_proc_exit', '_Exit', 'exit', '_start'])).toBe('full');
  });
  it('_Exit or _exit without exit() is a quick one', () => {
    expect(exitKindOf(['__wasi_proc_exit', '_Exit', 'main'])).toBe('quick');
    expect(exitKindOf(['_exit', 'leave', 'main'])).toBe('quick');
  });
  it('frames with no names (a stripped binary) say nothing: their shapes decide', () => {
    expect(exitKindOf([null, null, null])).toBe(null);
    expect(exitKindOf(['main', null])).toBe(null);
  });
});

describe('exitShapes', () => {
  it("finds wasi-libc's forwarders and exit() in a named build: the functions those names name", async () => {
    const { readFileSync } = await import('node:fs');
    const { exitShapes } = await import('../../src/peers/exit-shape.js');
    const { parseModule } = await import('../../src/wasm/binary/index.js');
    const { peer } = await import('./helpers.js');
    const bytes = new Uint8Array(readFileSync(peer('lsan_exit.wasm')));
    const names = parseModule(bytes).names!.functions;
    const s = exitShapes(bytes);
    const named = (set: Set<number>): string[] => [...set].map((i) => names.get(i) ?? `#${i}`).sort();
    expect(named(s.forwarders)).toEqual(['_Exit', '__imported_wasi_snapshot_preview1_proc_exit', '__wasi_proc_exit']);
    expect(named(s.exits)).toEqual(['_start.command_export', 'exit']);
  });
});
