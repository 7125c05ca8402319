/**
 * Emscripten -pthread programs through kmemleak.emscripten() (issue 18, first step). The fixture
 * (test/fixtures/emscripten-pthread/threads.c) starts 2 pthreads from a pool of 2 workers; each
 * leaks one block, main leaks one, joins both, prints 3 lines and returns 3.
 * Before: the workers failed to instantiate the instrumented module (no `__kmemleak_hooks` in the
 * worker's imports) and main blocked for good in pthread_join. Now a threaded module runs without
 * the detector (src/api/threads.ts) and says so in one line; nothing is reported, which is true of
 * what is tracked (no thread is), rather than main-thread events only, which would be wrong.
 * Run as a child process with a timeout: a hang blocks the thread in Atomics.wait.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const FIXTURE = fileURLToPath(new URL('../fixtures/emscripten-pthread', import.meta.url));
const PROGRAM_OUT = 'thread 1 returned 10\nthread 2 returned 20\nthreads done\n';
const UNTRACKED = 'kmemleak: threaded module (shared memory, e.g. Emscripten -pthread): it runs without the detector, no thread is tracked (issue 18)';
let entry = '';

beforeAll(async () => {
  entry = join(mkdtempSync(join(tmpdir(), 'kml-threads-')), 'host.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('./threads-entry.ts', import.meta.url))],
    outfile: entry, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'silent',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
});

function runHost(mode: string): { status: number | null; signal: string | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [entry, FIXTURE, mode], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

describe('an Emscripten -pthread program under kmemleak.emscripten()', () => {
  it('runs main inside the factory: no hang, its own output and exit status, one line saying it is untracked', () => {
    const r = runHost('auto');
    expect(r.signal).toBeNull();   // SIGTERM here means the 30 s timeout: the old hang
    expect(r.out).toBe(PROGRAM_OUT);
    expect(r.status).toBe(3);
    expect(r.err.split('\n').filter((l) => l.startsWith('kmemleak:'))).toEqual([UNTRACKED]);
    // main exits the process from inside the factory, before it returns a handle
    expect(r.err).toContain('host: exit 3, leaks no handle');
    expect(r.err).not.toMatch(/__kmemleak_hooks|worker\.js onmessage|Module\.instantiateWasm callback failed/);
  });

  it('returns from the factory first (noInitialRun), then runs main: the handle reports no leak', () => {
    const r = runHost('later');
    expect(r.signal).toBeNull();
    expect(r.out).toBe(PROGRAM_OUT);
    expect(r.status).toBe(3);
    const host = r.err.split('\n').filter((l) => l.startsWith('host:'));
    expect(host).toEqual(['host: factory returned, leaks 0', 'host: exit 3, leaks 0']);
    expect(r.err.split('\n').filter((l) => l.startsWith('kmemleak:'))).toEqual([UNTRACKED]);
  });
});
