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
interface Run { status: number | null; signal: string | null; out: string; detector: string[]; host: string[]; leaks: Leak[] }

function runHost(name: string, mode: string, arg = '', minAge = 0): Run {
  const r = spawnSync(process.execPath, [entry, FIXTURE, name, mode, arg, String(minAge)], { encoding: 'utf8', timeout: 60_000 });
  const lines = r.stderr.split('\n');
  const host = lines.filter((l) => l.startsWith('host:'));
  const leaks = host.filter((l) => l.startsWith('host: leak ')).map((l) => {
    const [size, comm, pid, frames] = l.slice('host: leak '.length).split(' ');
    return { size: Number(size), comm: comm!, pid: Number(pid), frames: frames!.split('<') };
  });
  return { status: r.status, signal: r.signal, out: r.stdout, detector: lines.filter((l) => l.startsWith('kmemleak:')), host, leaks };
}

/** The detector printed nothing but scan results: no unknown free, overlap or lost event. */
function onlyScanLines(r: Run): void {
  expect(r.detector.filter((l) => !/^kmemleak: \d+ new suspected memory leaks/.test(l))).toEqual([]);
}

describe('an Emscripten -pthread program under kmemleak.emscripten()', () => {
  it('runs main inside the factory: no hang, its own output and exit status, no warning', () => {
    const r = runHost('threads', 'auto');
    expect(r.signal).toBeNull();   // SIGTERM here means the timeout: a hang
    expect(r.out).toBe('thread 1 returned 10\nthread 2 returned 20\nthreads done\n');
    expect(r.status).toBe(3);
    expect(r.detector).toEqual([]);
    expect(r.host).toEqual(['host: exit 3, leaks no handle']);
  });

  it('returns from the factory first, then runs main: each thread\'s leak with its own pid and comm', () => {
    const r = runHost('threads', 'later');
    expect(r.signal).toBeNull();
    expect(r.out).toBe('thread 1 returned 10\nthread 2 returned 20\nthreads done\n');
    expect(r.status).toBe(3);
    onlyScanLines(r);
    expect(r.host.slice(0, 2)).toEqual(['host: factory returned, leaks 0', 'host: exit 3, exit scan 3']);
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
    expect(r.host).toContain('host: exit 0, exit scan 4');
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
    expect(r.host).toContain('host: exit 0, exit scan 0');
    expect(r.leaks.map((l) => l.size)).toEqual([300, 302, 304, 306, 308]);
    for (const l of r.leaks) expect(l).toMatchObject({ comm: 'main', pid: 1, frames: ['main'] });   // blocked() is inlined
  });

  it('a block held only by a thread\'s TLS: not a leak while the thread lives, a leak once it is gone', () => {
    // Without its TLS block as a root the two scans would find 3: the block, the TLS block and main's.
    const r = runHost('scenarios', 'later', 'tls');
    expect(r.signal).toBeNull();
    expect(r.out).toBe('tls: scans while its thread lives found 0\n');
    onlyScanLines(r);
    expect(r.host).toContain('host: exit 0, exit scan 1');
    expect(r.leaks).toEqual([{ size: 444, comm: 'tls_owner', pid: 2, frames: ['tls_owner'] }]);
  });

  it('scans during heavy allocation on 4 threads: the 12 leaks, nothing else, by thread', () => {
    const r = runHost('scenarios', 'later', 'heavy');
    expect(r.signal).toBeNull();
    expect(r.out).toBe('heavy: scans done\nheavy: scans found 12, churned\n');
    onlyScanLines(r);
    expect(r.host).toContain('host: exit 0, exit scan 0');
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
