// What SPEC §7's triage costs at exit, measured side by side in one process (issue 13: the exit
// scan of the 1M-node tree must not get more than 10% slower).
//   npm run build && bench/build.sh && node bench/triage.mjs [--runs 5]
// 1. `kmemleak run` on bench/build/tree.wasm (1M nodes, two dropped subtrees leak): the exit
//    scan's time and the leak graph's (Kmemleak.prototype methods timed in place), and the
//    whole run. The triage reads the heap only for the leaked objects.
// 2. The engine alone, the worst case: a 1M-node tree of 32-byte nodes that leaks whole, so the
//    graph covers 1M objects: exit scan vs leak graph vs triage (kernel and JavaScript floods).
import { existsSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kmemleak } from '../dist/engine/index.js';
import { runModule } from '../dist/wasm/runtime/run.js';
import { toRunOptions } from '../dist/cli/parse-run.js';
import { triage } from '../dist/triage/triage.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const runs = Number(argv[argv.indexOf('--runs') + 1] || 5);
const tree = path.join(here, 'build', 'tree.wasm');
if (!existsSync(tree)) {
  console.error('bench/build/tree.wasm is missing: run bench/build.sh');
  process.exit(2);
}
const devnull = openSync('/dev/null', 'w');
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Time the engine's exit scan and leak graph where `kmemleak run` calls them.
const timings = { exitScan: 0, leakGraph: 0 };
for (const name of ['exitScan', 'leakGraph']) {
  const orig = Kmemleak.prototype[name];
  Kmemleak.prototype[name] = function (...a) {
    const t = performance.now();
    try { return orig.apply(this, a); } finally { timings[name] += performance.now() - t; }
  };
}

console.log(`node ${process.version}; ${runs} runs each, medians`);
console.log('\n### kmemleak run bench/build/tree.wasm (1M nodes, two subtrees leak)\n');
const scan = [], graph = [], whole = [];
let leaks = 0;
for (let i = 0; i < runs; i++) {
  timings.exitScan = timings.leakGraph = 0;
  const opts = { ...toRunOptions(tree, [], { dir: [], env: [] }, {}), exitcode: 0 };
  const t = performance.now();
  const r = await runModule(opts, { err: () => {}, stdout: devnull });
  whole.push(performance.now() - t);
  scan.push(timings.exitScan);
  graph.push(timings.leakGraph);
  leaks = r.leaks;
}
console.log('| what | ms |');
console.log('|---|---|');
console.log(`| exit scan (engine.exitScan) | ${median(scan).toFixed(1)} |`);
console.log(`| leak graph of the ${leaks} leaked objects (engine.leakGraph) | ${median(graph).toFixed(2)} |`);
console.log(`| graph / exit scan | ${(100 * median(graph) / median(scan)).toFixed(2)}% |`);
console.log(`| whole run (in process) | ${median(whole).toFixed(0)} |`);

// The worst case: every node of a 1M-node tree leaks.
console.log('\n### engine alone: a 1M-node tree (32-byte nodes) that leaks whole\n');
const N = 1 << 20;
const NODE = 32;
const BASE = 1 << 16;
const memory = new WebAssembly.Memory({ initial: Math.ceil((BASE + N * NODE + (64 << 20)) / 65536), maximum: 4096 });
const words = new Uint32Array(memory.buffer);
for (let i = 0; i < N; i++) {
  const a = (BASE + i * NODE) >>> 2;
  words[a] = 2 * i + 1 < N ? BASE + (2 * i + 1) * NODE : 0;
  words[a + 1] = 2 * i + 2 < N ? BASE + (2 * i + 2) * NODE : 0;
  words[a + 2] = i;
}
const rows = [];
for (const kernel of ['on', 'off']) {
  const s = [], g = [], tr = [];
  for (let r = 0; r < runs; r++) {
    const k = new Kmemleak({ log: () => {}, scanPeriodSecs: 0, minAgeMs: 0, scanKernel: kernel });
    k.attachMemory(() => memory.buffer, { memory, mayGrow: true });
    const trace = k.depot.save(new Uint32Array([1, 2, 3, 4]), 4);
    for (let i = 0; i < N; i++) k.alloc(BASE + i * NODE, NODE, 1, trace);
    let t = performance.now();
    k.exitScan();
    s.push(performance.now() - t);
    t = performance.now();
    const lg = k.leakGraph();
    g.push(performance.now() - t);
    t = performance.now();
    const tri = triage(lg, () => [{ function: 'make', offset: 1, size: 2, funcIndex: 1 }]);
    tr.push(performance.now() - t);
    if (tri.summary.direct !== 1 || tri.summary.objects !== N) throw new Error('unexpected triage');
  }
  rows.push(`| ${kernel === 'on' ? 'kernel' : 'JavaScript'} flood | ${median(s).toFixed(0)} | ${median(g).toFixed(0)} | ${median(tr).toFixed(0)} | ${(100 * median(g) / median(s)).toFixed(0)}% |`);
}
console.log('| exit scan in | exit scan ms | leak graph ms | triage ms | graph / scan |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(r);

// Writing the reports of 100K leaked objects (16 sites): the per-object paths of the JSON and the
// --report-objects text (each trace described once), and the per-site text.
console.log('\n### engine alone: reports of 100K leaked 48-byte objects from 16 sites\n');
{
  const { writeExitText } = await import('../dist/report/exit-text.js');
  const { writeJsonSites } = await import('../dist/report/json-sites.js');
  const { describeOnce } = await import('../dist/triage/triage.js');
  const M = 100_000;
  const mem = new WebAssembly.Memory({ initial: Math.ceil((BASE + M * 64) / 65536) + 1 });
  const cols = { graph: [], json: [], objects: [], sites: [] };
  let jsonBytes = 0;
  for (let r = 0; r < runs; r++) {
    const k = new Kmemleak({ log: () => {}, scanPeriodSecs: 0, minAgeMs: 0 });
    k.attachMemory(() => mem.buffer);
    const traces = Array.from({ length: 16 }, (_, s) => k.depot.save(new Uint32Array([s + 1, 10, 99, 20]), 4));
    const frames = (h) => [{ function: `site_${h}`, offset: 4, size: 64, file: 'leak.c', line: h, funcIndex: h },
      { function: 'main', offset: 9, size: 200, file: 'main.c', line: 3, funcIndex: 99 }];
    for (let i = 0; i < M; i++) k.alloc(BASE + i * 64, 48, 1, traces[i & 15]);
    k.exitScan();
    let t = performance.now();
    const g = k.leakGraph();
    const describe = describeOnce(frames);
    const tri = triage(g, describe);
    cols.graph.push(performance.now() - t);
    const src = { record: (i) => k.leakRecord(g.slots[i]), describe };
    let n = 0;
    const sink = (s) => { n += s.length; };
    t = performance.now();
    writeJsonSites('p.wasm', tri, src, sink);
    cols.json.push(performance.now() - t);
    jsonBytes = n;
    t = performance.now();
    writeExitText(tri, src, sink, { objects: true });
    cols.objects.push(performance.now() - t);
    t = performance.now();
    writeExitText(tri, src, sink, {});
    cols.sites.push(performance.now() - t);
  }
  console.log('| step | ms |');
  console.log('|---|---|');
  console.log(`| leak graph + triage (100K objects) | ${median(cols.graph).toFixed(0)} |`);
  console.log(`| --json (${(jsonBytes / 1e6).toFixed(0)} MB of text) | ${median(cols.json).toFixed(0)} |`);
  console.log(`| text, --report-objects (every object) | ${median(cols.objects).toFixed(0)} |`);
  console.log(`| text, per site (default) | ${median(cols.sites).toFixed(1)} |`);
}
