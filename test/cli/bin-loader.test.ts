/**
 * bin/kmemleak itself: it runs the built bundle through V8's code cache (bin/load-cli.cjs). A cold
 * and a warm start give the same result; a corrupt cache file is rejected by V8 and replaced;
 * KMEMLEAK_CACHE=off writes nothing. A start loads only the Node built-ins it uses: the threads,
 * terminal and network modules (and the streams they pull in) only when a program waits for input
 * or serves a control file, and node:crypto only to hash a binary the prepare cache does not know
 * yet. Needs `npm run build` (npm test runs it first).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, ROOT } from './helpers.js';

/** bin/kmemleak's `#!` flags: with them `kmemleak run` stays on the main thread. */
const { MAIN_THREAD_FLAGS } = createRequire(import.meta.url)(join(ROOT, 'bin', 'program-thread.cjs')) as { MAIN_THREAD_FLAGS: string[] };

const BIN = join(ROOT, 'bin', 'kmemleak');
const BUNDLE = join(ROOT, 'dist', 'cli-bundle', 'main.cjs');

function run(cacheDir: string, extraEnv: Record<string, string> = {}) {
  // The cache on, whatever the caller's environment says, unless the test turns it off.
  const env: NodeJS.ProcessEnv = { ...process.env, KMEMLEAK_CACHE_DIR: cacheDir, ...extraEnv };
  if (!('KMEMLEAK_CACHE' in extraEnv)) delete env['KMEMLEAK_CACHE'];
  const r = spawnSync(process.execPath, [BIN, 'run', fixture('tool.wasm'), 'leak', '1'], {
    encoding: 'utf8',
    timeout: 60_000,
    env,
  });
  // Addresses are stable between runs of the same program; the allocation time is not.
  return { code: r.status, out: r.stdout, err: r.stderr.replace(/jiffies \d+/g, 'jiffies N') };
}

const codeCaches = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('cli-') && f.endsWith('.v8')) : []);

/** The Node built-ins a `kmemleak ARGS` process loaded, on the main thread with the `#!` flags. */
function builtinsLoaded(args: string[], input: string, dir = mkdtempSync(join(tmpdir(), 'kml-builtins-'))): { code: number | null; out: string; loaded: string[] } {
  const preload = join(dir, 'dump.cjs');
  const list = join(dir, 'loaded.txt');
  writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));`);
  const r = spawnSync(process.execPath, [...MAIN_THREAD_FLAGS, '-r', preload, BIN, ...args], {
    encoding: 'utf8', timeout: 60_000, input, env: { ...process.env, KMEMLEAK_CACHE_DIR: join(dir, 'cache') },
  });
  const loaded = readFileSync(list, 'utf8').split('\n').filter((l) => l.startsWith('NativeModule ')).map((l) => l.slice(13));
  return { code: r.status, out: r.stdout, loaded };
}

describe('what a start loads', () => {
  const lazy = ['worker_threads', 'tty', 'net', 'child_process', 'v8', 'perf_hooks'];
  it('a program that does not read its input (a pipe): none of the thread, terminal, network modules', () => {
    const r = builtinsLoaded(['run', '--exitcode', '0', fixture('tool.wasm'), 'leak', '1'], 'unread\n');
    expect(r.code).toBe(0);
    expect(r.loaded).toContain('wasi');
    expect(r.loaded.filter((m) => lazy.includes(m))).toEqual([]);
  });

  it('a second run of an unchanged binary: its prepare cache entry found without hashing (no node:crypto)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kml-builtins-'));
    const args = ['run', '--exitcode', '0', fixture('tool.wasm'), 'leak', '1'];
    expect(builtinsLoaded(args, '', dir).loaded).toContain('crypto');   // the first run hashes it
    const second = builtinsLoaded(args, '', dir);
    expect(second.code).toBe(0);
    expect(second.loaded).not.toContain('crypto');
  });

  it('a program that reads a pipe: the stdio helper thread (worker_threads) starts then, and it reads its input', () => {
    const r = builtinsLoaded(['run', fixture('tool.wasm'), 'cat'], 'one\ntwo\n');
    expect(r).toMatchObject({ code: 0, out: 'one\ntwo\n' });
    expect(r.loaded).toContain('worker_threads');
  });
});

describe('bin/kmemleak and the code cache', () => {
  it('the bundle is built (npm run build), in ASCII (load-cli.cjs reads it as latin1)', () => {
    expect(existsSync(BUNDLE), `${BUNDLE} is missing: run npm run build`).toBe(true);
    expect(/[^\x00-\x7f]/.test(readFileSync(BUNDLE, 'latin1'))).toBe(false);
  });

  it('a cold start writes the cache; a warm start reads it and answers the same', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kml-codecache-'));
    const cold = run(dir);
    expect(cold.code).toBe(23);
    expect(cold.err).toMatch(/^kmemleak: 1 new suspected memory leaks/);
    const files = codeCaches(dir);
    expect(files).toHaveLength(1);
    const warm = run(dir);
    expect(warm).toEqual(cold);
    expect(codeCaches(dir)).toEqual(files);
  });

  it('a corrupt cache file is rejected and replaced, with the same answer', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kml-codecache-'));
    const first = run(dir);
    const [file] = codeCaches(dir);
    const path = join(dir, file!);
    const garbage = Buffer.alloc(readFileSync(path).length, 0x5a);
    writeFileSync(path, garbage);
    const again = run(dir);
    expect(again).toEqual(first);
    expect(readFileSync(path).equals(garbage)).toBe(false);
  });

  it('a cache file others could write is not used (it would be code), and is replaced', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kml-codecache-'));
    const first = run(dir);
    const [file] = codeCaches(dir);
    const path = join(dir, file!);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    chmodSync(path, 0o666);
    expect(run(dir)).toEqual(first);
    expect(statSync(path).mode & 0o777).toBe(0o600);   // rewritten: it was treated as absent
  });

  it('--source-map works from the bundle (its wasm decoder ships beside it)', () => {
    const r = spawnSync(process.execPath, [BIN, 'run', '--allocator', 'malloc=my_alloc,free=my_release',
      '--source-map', fixture('custom.map'), fixture('custom.wasm')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toMatch(/make_lost\+0x3\/0x7 custom\.c:20\n/);
  });

  it('KMEMLEAK_CACHE=off: no cache file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kml-codecache-'));
    expect(run(dir, { KMEMLEAK_CACHE: 'off' }).code).toBe(23);
    expect(codeCaches(dir)).toEqual([]);
  });
});
