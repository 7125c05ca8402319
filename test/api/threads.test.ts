/**
 * Emscripten -pthread programs under kmemleak.emscripten() (issue 18). Fixtures in
 * test/fixtures/emscripten-pthread (C sources, committed builds, build.sh):
 *   threads.c    2 pthreads each leak one block, main leaks one, joins both, returns 3.
 *   scenarios.c  handoff (producer/consumer, 4 blocks dropped), exit (a thread exits holding the
 *                only pointer), blocked (a scan while a thread waits in pthread_cond_wait),
 *                heavy (4 threads churn, main scans 6 times, 12 leaks), tls (a block held only
 *                by a thread's TLS).
 * What is asserted: the program's output and exit status are its own; every report is exact
 * (sizes, comm = the thread's start routine, pid = its thread id, backtrace); no event is lost or
 * duplicated (that would show as a kmemleak warning: an unknown free, an overlap); no hang.
 * Each run is a child process with a timeout: a hang blocks its thread in Atomics.wait.
 * bench/threads-stress.mjs runs each scenario 20 times (bench/RESULTS.md).
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const FIXTURE = fileURLToPath(new URL('../fixtures/emscripten-pthread', import.meta.url));
let entry = '';

beforeAll(async () => {
  entry = join(mkdtempSync(join(tmpdir(), 'kml-threads-')), 'host.mjs');
  await build({
    entryPoints: [fileURLToPath(new URL('./threads-entry.ts', import.meta.url))],
    outfile: entry, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'silent',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
});

interface Leak { size: number; comm: string; pid: number; frames: string[] }
interface Run { status: number | null; signal: string | null; out: string; err: string; detector: string[]; host: string[]; leaks: Leak[] }

function runHost(name: string, mode: string, arg = '', minAge = 0, report = '', dir = FIXTURE): Run {
  const r = spawnSync(process.execPath, [entry, dir, name, mode, arg, String(minAge), report], { encoding: 'utf8', timeout: 60_000 });
  const lines = r.stderr.split('\n');
  const host = lines.filter((l) => l.startsWith('host:'));
  const leaks = host.filter((l) => l.startsWith('host: leak ')).map((l) => {
    const [size, comm, pid, frames] = l.slice('host: leak '.length).split(' ');
    return { size: Number(size), comm: comm!, pid: Number(pid), frames: frames!.split('<') };
  });
  return { status: r.status, signal: r.signal, out: r.stdout, err: r.stderr, detector: lines.filter((l) => l.startsWith('kmemleak:')), host, leaks };
}

/** The detector printed nothing but scan results: no unknown free, overlap or lost event. */
function onlyScanLines(r: Run): void {
  expect(r.detector.filter((l) => !/^kmemleak: \d+ new suspected memory leaks/.test(l))).toEqual([]);
}

describe('an Emscripten -pthread program under kmemleak.emscripten()', () => {
  it('runs main inside the factory: no hang, its own output and exit status, the exit report (exitReport option)', () => {
    const r = runHost('threads', 'auto');
    expect(r.signal).toBeNull();   // SIGTERM here means the timeout: a hang
    expect(r.out).toBe('thread 1 returned 10\nthread 2 returned 20\nthreads done\n');
    expect(r.status).toBe(3);
    onlyScanLines(r);
    // The process ends inside the factory: the report comes from the glue's onExit, then the user's onExit runs.
    expect(r.host[0]).toBe('host: exit report 3, exit scan 3');
    expect(r.host.at(-1)).toBe('host: exit 3');
    expect(r.host.some((l) => l.startsWith('host: factory returned'))).toBe(false);
    expect(r.leaks.map((l) => `${l.size} ${l.comm} ${l.frames.join('<')}`).sort())
      .toEqual(['101 worker worker', '102 worker worker', '64 main __original_main<main']);
  });

  it('returns from the factory first, then runs main: each thread\'s leak with its own pid and comm', () => {
    const r = runHost('threads', 'later');
    expect(r.signal).toBeNull();
    expect(r.out).toBe('thread 1 returned 10\nthread 2 returned 20\nthreads done\n');
    expect(r.status).toBe(3);
    onlyScanLines(r);
    expect(r.host.slice(0, 2)).toEqual(['host: factory returned, leaks 0', 'host: exit report 3, exit scan 3']);
    expect(r.host.at(-1)).toBe('host: exit 3');
    const bySize = new Map(r.leaks.map((l) => [l.size, l]));
    expect([...bySize.keys()].sort()).toEqual([101, 102, 64]);
    expect(bySize.get(64)).toMatchObject({ comm: 'main', pid: 1, frames: ['__original_main', 'main'] });
    for (const s of [101, 102]) expect(bySize.get(s)).toMatchObject({ comm: 'worker', frames: ['worker'] });
    expect(new Set([bySize.get(101)!.pid, bySize.get(102)!.pid])).toEqual(new Set([2, 3]));
  });
});

describe('threaded scenarios (scenarios.c), reports exact', () => {
  it('producer/consumer: blocks freed on the consumer, the 4 it drops reported with the producer\'s stack', () => {
    const r = runHost('scenarios', 'later', 'handoff');
    expect(r.signal).toBeNull();
    expect(r.out).toBe('handoff: 400 items, 4 dropped\n');
    expect(r.status).toBe(0);
    onlyScanLines(r);   // 396 cross-thread frees, none of an unknown object
    expect(r.host).toContain('host: exit report 0, exit scan 4');
    expect(r.leaks.map((l) => l.size).sort()).toEqual([163, 263, 363, 463]);
    const pids = new Set(r.leaks.map((l) => l.pid));
    expect(pids.size).toBe(1);
    expect([...pids][0]).toBeGreaterThan(1);
    for (const l of r.leaks) expect(l).toMatchObject({ comm: 'producer', frames: ['producer'] });
  });

  it('a thread that exits holding the only pointer to a block: that block is a leak', () => {
    const r = runHost('scenarios', 'later', 'exit');
    expect(r.signal).toBeNull();
    expect(r.out).toBe('exit: joined\n');
    onlyScanLines(r);
    expect(r.leaks).toEqual([{ size: 777, comm: 'holder', pid: 2, frames: ['holder'] }]);
  });

  it('a scan while a thread is blocked in a wait: bounded, its stack is a root, main\'s dropped blocks reported', () => {
    const r = runHost('scenarios', 'later', 'blocked');
    expect(r.signal).toBeNull();
    // 5 = exactly main's dropped blocks; the waiter's 555 bytes (on its stack) are not among them
    expect(r.out).toBe('blocked: scan while a thread waits found 5\n');
    onlyScanLines(r);
    expect(r.host).toContain('host: exit report 0, exit scan 0');
    expect(r.leaks.map((l) => l.size)).toEqual([300, 302, 304, 306, 308]);
    for (const l of r.leaks) expect(l).toMatchObject({ comm: 'main', pid: 1, frames: ['main'] });   // blocked() is inlined
  });

  it('a block held only by a thread\'s TLS: not a leak while the thread lives, a leak once it is gone', () => {
    // Without its TLS block as a root the two scans would find 3: the block, the TLS block and main's.
    const r = runHost('scenarios', 'later', 'tls');
    expect(r.signal).toBeNull();
    expect(r.out).toBe('tls: scans while its thread lives found 0\n');
    onlyScanLines(r);
    expect(r.host).toContain('host: exit report 0, exit scan 1');
    expect(r.leaks).toEqual([{ size: 444, comm: 'tls_owner', pid: 2, frames: ['tls_owner'] }]);
  });

  it('scans during heavy allocation on 4 threads: the 12 leaks, nothing else, by thread', () => {
    const r = runHost('scenarios', 'later', 'heavy');
    expect(r.signal).toBeNull();
    expect(r.out).toBe('heavy: scans done\nheavy: scans found 12, churned\n');
    onlyScanLines(r);
    expect(r.host).toContain('host: exit report 0, exit scan 0');
    expect(r.leaks).toHaveLength(12);
    const byPid = new Map<number, number[]>();
    for (const l of r.leaks) {
      expect(l).toMatchObject({ comm: 'churn', frames: ['churn'] });
      byPid.set(l.pid, [...(byPid.get(l.pid) ?? []), l.size]);
    }
    expect(byPid.size).toBe(4);
    const sets = [...byPid.values()].map((s) => s.sort().join(',')).sort();
    expect(sets).toEqual(['1000,1001,1002', '1010,1011,1012', '1020,1021,1022', '1030,1031,1032']);
  });
});

/** The exitReport option's text, as `kmemleak run` writes it: records by site, then the summary. */
function expectExitText(err: string, records: string[], summary: string): void {
  const text = err.split('\n').filter((l) => !l.startsWith('host:'));
  expect(text[0]).toMatch(/^kmemleak: 3 new suspected memory leaks/);
  expect(text.filter((l) => l.startsWith('unreferenced object ')).map((l) => l.replace(/0x[0-9a-f]+/, 'ADDR'))).toEqual(records);
  expect(text).toContain(summary);
}

describe('the exitReport option of kmemleak.emscripten(): the exit report at the program\'s exit', () => {
  const PLAIN = fileURLToPath(new URL('../fixtures/emscripten', import.meta.url));

  it('a -pthread build, main inside the factory: kmemleak run\'s report text on stderr', () => {
    const r = runHost('threads', 'auto', '', 0, 'text');
    expect(r.signal).toBeNull();
    expect(r.out).toBe('thread 1 returned 10\nthread 2 returned 20\nthreads done\n');
    expect(r.status).toBe(3);
    // The worker site's first object is whichever thread allocated first: 101 or 102 bytes.
    expectExitText(r.err.replace(/\(size 10[12]\)/, '(size 101|102)'), ['unreferenced object ADDR (size 101|102):', 'unreferenced object ADDR (size 64):'],
      'kmemleak: summary: 267 bytes in 3 objects at 2 sites (3 direct, 0 indirect)');
    expect(r.err).toContain('  2 objects, 203 bytes at this site (2 direct, 0 indirect), retained 203 bytes\n');
    expect(r.err).toMatch(/comm "worker", pid [23],[^]*backtrace \(crc [0-9a-f]{8}\):\n    worker\+0x/);
    expect(r.err.endsWith('host: exit 3\n')).toBe(true);   // the user's onExit, after the report
  });

  for (const mode of ['auto', 'later']) {
    it(`a plain build (-sEXIT_RUNTIME=1), main ${mode === 'auto' ? 'inside the factory' : 'by callMain'}: its 3 leaks, its own output`, () => {
      const r = runHost('exiting', mode, '', 0, '', PLAIN);
      expect(r.signal).toBeNull();
      expect(r.out).toBe('leaks: done\n');
      expect(r.status).toBe(0);
      onlyScanLines(r);
      expect(r.host.filter((l) => !l.startsWith('host: leak '))).toEqual([
        ...(mode === 'later' ? ['host: factory returned, leaks 0'] : []), 'host: exit report 0, exit scan 3', 'host: exit 0']);
      expect(r.leaks).toEqual([
        { size: 100, comm: 'main', pid: 1, frames: ['lose', '__original_main', 'main'] },
        { size: 200, comm: 'main', pid: 1, frames: ['lose', '__original_main', 'main'] },
        { size: 4000, comm: 'main', pid: 1, frames: ['__original_main', 'main'] },
      ]);
    });
  }

  it('a plain build, main by callMain: the text report', () => {
    const r = runHost('exiting', 'later', '', 0, 'text', PLAIN);
    expect(r.status).toBe(0);
    expect(r.out).toBe('leaks: done\n');
    expectExitText(r.err, ['unreferenced object ADDR (size 4000):', 'unreferenced object ADDR (size 100):'],
      'kmemleak: summary: 4300 bytes in 3 objects at 2 sites (3 direct, 0 indirect)');
    expect(r.err).toContain('    lose+0x5/0x22\n    __original_main+0x6/0x45\n    main+0x1/0x4\n  2 objects, 300 bytes at this site');
  });
});
