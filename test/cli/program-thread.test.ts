/**
 * Where bin/kmemleak runs `kmemleak run` (bin/program-thread.cjs, issue 12): V8's GC single-threaded
 * and a large stack, either on the main thread (the `#!` line's flags, when the OS stack allows) or
 * on a worker (`node bin/kmemleak`, a small `ulimit -s`, KMEMLEAK_STACK_MB). Checked as a process:
 * deep recursion (test/fixtures/runtime/deep.c, 50,000 levels with an allocation at each; node:wasi
 * with Node's default stack overflows at ~13,000) runs under the detector and reports its one leak
 * both ways; stdin, stdout, exit status and signals stay the program's; and a cache directory that
 * cannot be made does not hang the start. Needs `npm run build` (npm test runs it first).
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fixture, ROOT } from './helpers.js';

const BIN = join(ROOT, 'bin', 'kmemleak');
const thread = createRequire(import.meta.url)(join(ROOT, 'bin', 'program-thread.cjs')) as {
  wantsProgramThread(argv: string[], env: Record<string, string>, execArgv?: string[]): boolean;
  stackLimit(): number;
  keepBytecodeOnMainThread(argv: string[], execArgv?: string[]): boolean;
  GC_FLAGS: string[];
  MAIN_THREAD_FLAGS: string[];
};

describe('choosing the thread', () => {
  it('the `#!` line carries exactly the flags the main-thread path checks for', () => {
    const first = readFileSync(BIN, 'utf8').split('\n')[0];
    expect(first).toBe(`#!/usr/bin/env -S node ${thread.MAIN_THREAD_FLAGS.join(' ')}`);
  });

  it('both paths give the program V8\'s GC single-threaded and no bytecode flushing (issue 12)', () => {
    expect(thread.GC_FLAGS).toEqual(expect.arrayContaining(['--single-threaded-gc', '--no-flush-bytecode']));
    for (const f of thread.GC_FLAGS) expect(thread.MAIN_THREAD_FLAGS).toContain(f);
  });

  it('KMEMLEAK_THREAD=off from a node without the flags: bytecode flushing turned off at run time, for run only', () => {
    expect(thread.keepBytecodeOnMainThread(['ctl', 'x.sock'], [])).toBe(false);
    expect(thread.keepBytecodeOnMainThread(['run', 'x.wasm'], thread.MAIN_THREAD_FLAGS)).toBe(false);
    expect(thread.keepBytecodeOnMainThread(['run', 'x.wasm'], [])).toBe(true);
  });

  it('the main thread with the flags and an 8 MB stack; else the worker; only for run', () => {
    expect(thread.stackLimit(), 'this test needs ulimit -s of at least 8 MB').toBeGreaterThanOrEqual(8 * 1024 * 1024);
    const flags = thread.MAIN_THREAD_FLAGS;
    expect(thread.wantsProgramThread(['run', 'x.wasm'], {}, flags)).toBe(false);
    expect(thread.wantsProgramThread(['run', 'x.wasm'], {}, [])).toBe(true);
    expect(thread.wantsProgramThread(['run', 'x.wasm'], {}, flags.slice(0, 1))).toBe(true);
    expect(thread.wantsProgramThread(['run', 'x.wasm'], { KMEMLEAK_STACK_MB: '128' }, flags)).toBe(true);
    expect(thread.wantsProgramThread(['run', 'x.wasm'], { KMEMLEAK_THREAD: 'off' }, [])).toBe(false);
    expect(thread.wantsProgramThread(['ctl', 'x.sock'], {}, [])).toBe(false);
  });
});

/** `node bin/kmemleak ...`: no flags on node's command line, so `run` takes the worker. */
function kmemleak(argv: string[], env: Record<string, string> = {}, input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...argv], {
    encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env }, ...(input !== undefined ? { input } : {}),
  });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

/** bin/kmemleak run as an executable (its `#!` line's flags), under `ulimit -s` KB of stack. */
function executable(argv: string[], stackKb: number | 'unlimited' = 8192) {
  const r = spawnSync('/bin/sh', ['-c', `ulimit -s ${stackKb} && exec "$0" "$@"`, BIN, ...argv], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

describe('the program thread', () => {
  it('50,000 levels of recursion, allocating at each, run under the detector; the one leak reported', () => {
    const r = kmemleak(['run', fixture('deep.wasm'), '50000']);
    expect(r.out).toBe('depth 50000\n');
    expect(r.code).toBe(23);
    expect(r.err).toMatch(/^kmemleak: 1 new suspected memory leaks \(see below\)\nunreferenced object 0x[0-9a-f]{8} \(size 8\):\n/);
    expect(r.err).toMatch(/^    down\+0x[0-9a-f]+\/0x[0-9a-f]+ deep\.c:\d+$/m);
    expect(r.err).not.toMatch(/RangeError/);
  });

  it('as an executable, on the main thread with the `#!` flags: the same', () => {
    const r = executable(['run', fixture('deep.wasm'), '50000']);
    expect(r.out).toBe('depth 50000\n');
    expect(r.code).toBe(23);
    expect(r.err).toMatch(/^kmemleak: 1 new suspected memory leaks \(see below\)\n/);
  });

  it('as an executable with `ulimit -s 2048` (too small for the flags): the worker, the same', () => {
    const r = executable(['run', fixture('deep.wasm'), '50000'], 2048);
    expect(r.out).toBe('depth 50000\n');
    expect(r.code).toBe(23);
  });

  it('and without the detector (--off): the same depth', () => {
    expect(kmemleak(['run', '--off', fixture('deep.wasm'), '50000'])).toMatchObject({ code: 0, out: 'depth 50000\n', err: '' });
  });

  it('the fixture is deep enough to matter: on the main thread (KMEMLEAK_THREAD=off) it overflows', () => {
    const r = kmemleak(['run', fixture('deep.wasm'), '50000'], { KMEMLEAK_THREAD: 'off' });
    expect(r.code).toBe(134);
    expect(r.err).toMatch(/^RangeError: Maximum call stack size exceeded/);
  });

  it('KMEMLEAK_STACK_MB sizes the stack: 1 MB overflows', () => {
    expect(kmemleak(['run', fixture('deep.wasm'), '50000'], { KMEMLEAK_STACK_MB: '1' }).code).toBe(134);
  });

  it('stdin, stdout and the exit status pass through the thread', () => {
    expect(kmemleak(['run', fixture('tool.wasm'), 'cat'], {}, 'one\ntwo \u00e9\n')).toMatchObject({ code: 0, out: 'one\ntwo \u00e9\n', err: '' });
    expect(kmemleak(['run', fixture('tool.wasm'), 'exit', '6']).code).toBe(6);
    expect(kmemleak(['run', fixture('tool.wasm'), 'trap']).code).toBe(134);
    expect(kmemleak(['run', '--bogus', fixture('tool.wasm')]).code).toBe(2);
  });

  it('a signal ends the process as it would end the program', async () => {
    const child = spawn(process.execPath, [BIN, 'run', fixture('tool.wasm'), 'churn', '1000000000'], { stdio: 'ignore' });
    const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
    try {
      await new Promise((r) => setTimeout(r, 1500));
      child.kill('SIGTERM');
      expect(await ended).toBe('SIGTERM');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('KMEMLEAK_CACHE_DIR=/proc/nonexistent: the run completes as without a cache (no spin in mkdir)', () => {
    const r = kmemleak(['run', fixture('tool.wasm'), 'leak', '1'], { KMEMLEAK_CACHE_DIR: '/proc/nonexistent' });
    expect(r.code).toBe(23);
    expect(r.err).toMatch(/^kmemleak: 1 new suspected memory leaks/);
  });
});
