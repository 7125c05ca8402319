// Threaded scenarios, 20 runs each (issue 18: "all reports exact, run 20 times each without a
// hang"); test/api/threads.test.ts runs each once. Each run is a child process with a 60 s
// timeout (a hang blocks in Atomics.wait); a run passes when its output, exit status, report
// (size and comm of every leak, the number of distinct thread ids) and detector lines (scan
// results only: no unknown free, overlap or lost event) are exactly as expected.
//   nice -n 10 node bench/threads-stress.mjs [--runs 20]
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const argv = process.argv.slice(2);
const runs = argv.includes('--runs') ? Number(argv[argv.indexOf('--runs') + 1]) : 20;
const fixture = path.join(root, 'test', 'fixtures', 'emscripten-pthread');
const entry = path.join(mkdtempSync(path.join(tmpdir(), 'kml-stress-threads-')), 'host.mjs');
await build({
  entryPoints: [path.join(root, 'test', 'api', 'threads-entry.ts')], outfile: entry, bundle: true, platform: 'node',
  format: 'esm', target: 'node20', logLevel: 'silent',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});

const heavy = [0, 1, 2, 3].flatMap((t) => [0, 1, 2].map((j) => `${1000 + 10 * t + j} churn`));
const cases = [
  { name: 'threads.c (2 threads, main leaks too)', prog: 'threads', arg: '', status: 3,
    out: 'thread 1 returned 10\nthread 2 returned 20\nthreads done\n', leaks: ['64 main', '101 worker', '102 worker'], pids: 3 },
  { name: 'handoff (producer/consumer)', prog: 'scenarios', arg: 'handoff', status: 0,
    out: 'handoff: 400 items, 4 dropped\n', leaks: ['163 producer', '263 producer', '363 producer', '463 producer'], pids: 1 },
  { name: 'exit (thread exits holding a block)', prog: 'scenarios', arg: 'exit', status: 0,
    out: 'exit: joined\n', leaks: ['777 holder'], pids: 1 },
  { name: 'blocked (scan while a thread waits)', prog: 'scenarios', arg: 'blocked', status: 0,
    out: 'blocked: scan while a thread waits found 5\n', leaks: [300, 302, 304, 306, 308].map((s) => `${s} main`), pids: 1 },
  { name: 'tls (a block held only by a thread\'s TLS)', prog: 'scenarios', arg: 'tls', status: 0,
    out: 'tls: scans while its thread lives found 0\n', leaks: ['444 tls_owner'], pids: 1 },
  { name: 'heavy (scans during churn on 4 threads)', prog: 'scenarios', arg: 'heavy', status: 0,
    out: 'heavy: scans done\nheavy: scans found 12, churned\n', leaks: heavy, pids: 4 },
];

function check(c, r) {
  if (r.signal) return `killed (${r.signal}): a hang`;
  if (r.status !== c.status) return `exit status ${r.status}`;
  if (r.stdout !== c.out) return `output ${JSON.stringify(r.stdout)}`;
  const lines = r.stderr.split('\n');
  const bad = lines.filter((l) => l.startsWith('kmemleak:') && !/^kmemleak: \d+ new suspected memory leaks/.test(l));
  if (bad.length) return bad[0];
  const leaks = lines.filter((l) => l.startsWith('host: leak ')).map((l) => l.split(' ').slice(2, 5));
  const got = leaks.map(([size, comm]) => `${size} ${comm}`).sort();
  if (got.join('|') !== [...c.leaks].sort().join('|')) return `leaks ${got.join(', ')}`;
  if (new Set(leaks.map((l) => l[2])).size !== c.pids) return `thread ids ${leaks.map((l) => l[2]).join(',')}`;
  return '';
}

console.log(`${runs} runs each, ${new Date().toISOString().slice(0, 10)}, node ${process.version}`);
let failed = 0;
for (const c of cases) {
  let pass = 0, worst = 0, firstFail = '';
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = spawnSync(process.execPath, [entry, fixture, c.prog, 'later', c.arg, '0'], { encoding: 'utf8', timeout: 60_000 });
    worst = Math.max(worst, performance.now() - t);
    const why = check(c, r);
    if (why === '') pass++;
    else if (!firstFail) firstFail = why;
  }
  failed += runs - pass;
  console.log(`${c.name}: ${pass}/${runs} exact, slowest run ${(worst / 1000).toFixed(1)} s${firstFail ? `; first failure: ${firstFail}` : ''}`);
}
process.exitCode = failed ? 1 : 0;
