/**
 * `kmemleak run` end to end on committed fixtures (test/fixtures/runtime, built by its build.sh):
 * leaks and their backtraces, exit status rules, exit handlers before the exit scan, the stack at
 * proc_exit, traps, warnings, --off, the report files, and WASI pass-through (args, env, --dir,
 * stdin/stdout).
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, reported, run, tempDir } from './helpers.js';

const tool = fixture('tool.wasm');

describe('leaks and exit status', () => {
  it('reports leaked blocks with the allocating function on top, exits 23', async () => {
    const r = await run(tool, ['leak', '2', 'keep']);
    expect(r.result).toMatchObject({ status: 23, programStatus: 0, leaks: 2, newLeaks: 2, trapped: false });
    const objs = reported(r.err);
    expect(objs.map((o) => o.size)).toEqual([10, 10]);
    expect(objs[0]!.fns.slice(0, 2)).toEqual(['leak_one', 'main']);
    expect(r.err).toMatch(/^kmemleak: 2 new suspected memory leaks \(see below\)$/m);
    expect(r.err).toMatch(/comm "_start", pid 1, jiffies \d+/);
    expect(r.err).toContain('4c 4c 4c 4c 4c 4c 4c 4c 4c 4c                    LLLLLLLLLL');
  });

  it('no leaks: the program\'s status and not a word from kmemleak', async () => {
    const r = await run(tool, ['keep', 'return', '5']);
    expect(r.result).toMatchObject({ status: 5, leaks: 0 });
    expect(r.err).toBe('');
  });

  it('--exitcode N replaces the status when leaks are reported; 0 keeps the program\'s', async () => {
    expect((await run(tool, ['leak', '1', 'return', '5'])).result.status).toBe(23);
    expect((await run(tool, ['leak', '1', 'return', '5'], { exitcode: 9 })).result.status).toBe(9);
    expect((await run(tool, ['leak', '1', 'return', '5'], { exitcode: 0 })).result.status).toBe(5);
  });

  it('exit() from a nested call: the program\'s status, leaks still found', async () => {
    const r = await run(tool, ['exit', '7']);
    expect(r.result).toMatchObject({ status: 7, programStatus: 7, leaks: 0 });
    const l = await run(tool, ['leak', '3', 'exit', '7'], { exitcode: 0 });
    expect(l.result).toMatchObject({ status: 7, leaks: 3 });
  });

  it('the exit scan runs after atexit handlers', async () => {
    // the handler drops the only reference to a 44-byte block: leaked only after it ran
    const r = await run(tool, ['atexit']);
    expect(reported(r.err).map((o) => o.size)).toEqual([44]);
  });

  it('frames live at proc_exit are roots; --stack=off leaves them out', async () => {
    expect((await run(tool, ['stackexit'])).result.leaks).toBe(0);
    const off = await run(tool, ['stackexit'], { stack: false });
    expect(reported(off.err)).toEqual([{ size: 128, fns: expect.arrayContaining(['held_on_stack', 'main']) as unknown as string[] }]);
    expect(off.result.status).toBe(23);
  });

  it('argv buffers of the C library start-up are not reported', async () => {
    const r = await run(tool, ['args', 'a', 'b']);
    expect(r.result.leaks).toBe(0);
  });
});

describe('traps', () => {
  it('reports the trap symbolized, then the leaks so far, exit 134', async () => {
    const r = await run(tool, ['leak', '1', 'trap']);
    expect(r.result).toMatchObject({ status: 134, trapped: true, programStatus: null, leaks: 2 });
    const lines = r.err.split('\n');
    expect(lines[0]).toBe('RuntimeError: unreachable');
    expect(lines[1]).toMatch(/^    at trap_here\+0x[0-9a-f]+\/0x[0-9a-f]+ tool\.c:\d+$/);
    expect(lines[2]).toMatch(/^    at trap_mid\+/);
    expect(lines[3]).toMatch(/^    at trap_top\+/);
    expect(r.err).not.toMatch(/wasm-function\[|kmemleak_|file:\/\/|node:/);
    expect(r.err.indexOf('RuntimeError')).toBeLessThan(r.err.indexOf('unreferenced object'));
    expect(reported(r.err).map((o) => o.fns[0])).toEqual(['leak_one', 'leak_one']);
  });

  it('an out-of-bounds access is a trap too', async () => {
    const r = await run(tool, ['oob']);
    expect(r.result.status).toBe(134);
    expect(r.err).toMatch(/^RuntimeError: memory access out of bounds\n    at oob_here\+/);
  });
});

describe('warnings', () => {
  it('a double free and a free of a non-heap pointer are warned about with the caller, and the program goes on', async () => {
    const r = await run(tool, ['dfree', 'badfree', 'return', '3']);
    expect(r.result.status).toBe(3);
    const warnings = r.err.match(/^kmemleak: Freeing unknown object at 0x[0-9a-f]{8}\n    main\+0x[0-9a-f]+\/0x[0-9a-f]+ tool\.c:\d+\n/gm);
    expect(warnings).toHaveLength(2);
  });
});

describe('--off', () => {
  it('runs the program unmodified: its output and status, no report', async () => {
    const r = await run(tool, ['leak', '2', 'args'], { off: true });
    expect(r.result).toMatchObject({ status: 0, leaks: 0 });
    expect(r.out).toContain('[args]');
    expect(r.err).toBe('');
  });

  it('provides the kmemleak imports as no-ops (scan returns 0)', async () => {
    const r = await run(fixture('annotate.wasm'), [], { off: true });
    expect(r.out).toBe('early scan: 0\n');
    expect(r.result.status).toBe(0);
  });

  it('a trap is still reported, symbolized', async () => {
    const r = await run(tool, ['trap'], { off: true });
    expect(r.result.status).toBe(134);
    expect(r.err).toMatch(/^RuntimeError: unreachable\n    at trap_here\+0x1\/0x4 tool\.c:\d+\n/);
  });
});

describe('reports', () => {
  it('--json FILE: SPEC §6 shape, program = the file name', async () => {
    const dir = tempDir();
    const json = join(dir, 'r.json');
    await run(tool, ['leak', '1', 'keep'], { json });
    const rep = JSON.parse(readFileSync(json, 'utf8')) as {
      program: string; summary: { leaks: number; bytes: number };
      leaks: Array<{ address: number; size: number; comm: string; pid: number; jiffies: number; crc: string; hex: string; backtrace: Array<{ function: string | null; offset: number; size: number; file?: string; line?: number }> }>;
    };
    expect(rep.program).toBe('tool.wasm');
    expect(rep.summary).toMatchObject({ leaks: 1, bytes: 10 });   // SPEC §7 adds fields
    const l = rep.leaks[0]!;
    expect(l).toMatchObject({ size: 10, comm: '_start', pid: 1, hex: '4c 4c 4c 4c 4c 4c 4c 4c 4c 4c' });
    expect(l.address).toBeGreaterThan(1024);
    expect(l.crc).toMatch(/^[0-9a-f]{8}$/);
    expect(typeof l.jiffies).toBe('number');
    expect(l.backtrace[0]).toMatchObject({ function: 'leak_one', file: 'tool.c' });
    expect(l.backtrace[0]!.size).toBeGreaterThan(l.backtrace[0]!.offset);
    expect(typeof l.backtrace[0]!.line).toBe('number');
  });

  it('--json with no leaks writes an empty list', async () => {
    const json = join(tempDir(), 'r.json');
    await run(tool, ['keep'], { json });
    expect(JSON.parse(readFileSync(json, 'utf8'))).toMatchObject({ program: 'tool.wasm', leaks: [], summary: { leaks: 0, bytes: 0 } });
  });

  it('--report FILE: the text goes there, the summary line names it', async () => {
    const report = join(tempDir(), 'leaks.txt');
    const r = await run(tool, ['leak', '1'], { report });
    expect(r.err).toBe(`kmemleak: 1 new suspected memory leaks (see ${report})\n`);
    expect(readFileSync(report, 'utf8')).toMatch(/^unreferenced object 0x[0-9a-f]{8} \(size 10\):\n/);
  });

  it('an unwritable report path is one line before the program runs', async () => {
    await expect(run(tool, ['args'], { json: '/nonexistent-dir/x.json' })).rejects.toThrow(/^--json: cannot write \/nonexistent-dir\/x\.json: no such directory$/);
  });
});

describe('WASI pass-through', () => {
  it('argv: the module path, then the program arguments untouched', async () => {
    const r = await run(tool, ['args', '--json', '-x', '', 'with space']);
    expect(r.out).toBe(`[${tool}]\n[args]\n[--json]\n[-x]\n[]\n[with space]\n`);
  });

  it('--env sets the program\'s environment, and nothing else leaks in', async () => {
    const r = await run(tool, ['env', 'FOO', 'env', 'HOME'], { env: { FOO: 'bar baz' } });
    expect(r.out).toBe('bar baz\n(unset)\n');
  });

  it('--dir preopens a host directory under a guest name, read and write', async () => {
    const host = tempDir();
    mkdirSync(join(host, 'sub'));
    writeFileSync(join(host, 'sub', 'in.txt'), 'from the host\n');
    const r = await run(tool, ['read', '/data/sub/in.txt', 'write', '/data/out.txt', 'from the guest'], { preopens: { '/data': host } });
    expect(r.out).toBe('from the host\n');
    expect(readFileSync(join(host, 'out.txt'), 'utf8')).toBe('from the guest');
  });

  it('without --dir the program sees no files', async () => {
    const r = await run(tool, ['read', '/etc/hostname']);
    expect(r.out).toBe('cannot open /etc/hostname\n');
    expect(r.result.status).toBe(1);
  });

  it('stdin and stdout pass through byte for byte; the program\'s stderr is its own', async () => {
    const text = 'line one\nline two \u00e9\u4e2d\n\u0000binary\u00ff';
    const r = await run(tool, ['cat', 'bogus'], {}, text);
    expect(r.out).toBe(text);
    expect(r.progErr).toBe('tool: unknown command bogus\n');
    expect(r.result.status).toBe(64);
  });
});

describe('the control seam (RunIO.onStart)', () => {
  it('hands over a session whose writes reach the engine before the program starts', async () => {
    const answers: string[] = [];
    let report = 'unset';
    const r = await run(tool, ['stackexit'], {}, undefined, (s) => {
      answers.push(s.write('stack=off'), s.write('scan=off'), s.write('bogus'));
      report = s.read();
    });
    expect(answers[0]).toBe('');
    expect(answers[1]).toBe('');
    expect(answers[2]).not.toBe('');
    expect(report).toBe('');
    expect(reported(r.err).map((o) => o.size)).toEqual([128]);   // stack=off took effect
  });
});

describe('call stack exhaustion', () => {
  it('is reported like a trap (RangeError), recursion folded, exit 134, leaks so far', async () => {
    const r = await run(tool, ['leak', '1', 'deep']);
    expect(r.result).toMatchObject({ status: 134, trapped: true, leaks: 1 });
    expect(r.err).toMatch(/^RangeError: Maximum call stack size exceeded\n    at deep_down\+0x0\/0x[0-9a-f]+ tool\.c:\d+\n    at deep_down\+0x[0-9a-f]+\/0x[0-9a-f]+ tool\.c:\d+\n    \.\.\. \(the frame above repeated \d+ more times\)\n/);
  });
});
