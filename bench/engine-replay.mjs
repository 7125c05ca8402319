// The engine alone on a real program's allocation events (issue 15): record the events a
// `kmemleak run` of a workload hands the engine (batches of Kmemleak.applyEvents and single
// alloc/free calls, in order), then replay them into a fresh engine and time only that (CPU ms,
// GC ms). A/B: replay the same recording with two builds' dist/ alternately, each in a child
// process of its own.
//   npm run build && node bench/engine-replay.mjs record json [/tmp/json.events]
//   node bench/engine-replay.mjs ab /tmp/json.events RUNS BEFORE_DIR AFTER_DIR
//   node bench/engine-replay.mjs one /tmp/json.events DIR     (one replay, prints JSON)
//   node bench/engine-replay.mjs inproc /tmp/json.events RUNS BEFORE_DIR AFTER_DIR
//       (both builds in one process, alternately, after a warm-up: steady-state code only)
// Recording format: u32 records [minCount+1, nWords, words...], batch.ts's layout per batch.
// CPU ms is the process's (V8's background compiler threads included), main ms the main
// thread's alone (Linux: /proc/thread-self/schedstat): on a quiet 2-core machine the background
// compiles overlap the program, so main ms is what a run's wall time pays.
import { spawnSync } from 'node:child_process';
import { openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';

const root = fileURLToPath(new URL('..', import.meta.url));
const [mode, a1, a2, a3, a4] = process.argv.slice(2);

if (mode === 'record') await record(a1, a2 ?? `/tmp/${a1}.events`);
else if (mode === 'one') await one(a1, a2);
else if (mode === 'ab') ab(a1, Number(a2 ?? 7), a3, a4);
else if (mode === 'inproc') await inproc(a1, Number(a2 ?? 7), a3, a4);
else throw new Error('usage: engine-replay.mjs record WORKLOAD [FILE] | one FILE DIR | ab FILE RUNS BEFORE AFTER');

async function record(workload, file) {
  const { runModule } = await import(`${root}dist/wasm/runtime/run.js`);
  const { Kmemleak } = await import(`${root}dist/engine/kmemleak.js`);
  const { toRunOptions } = await import(`${root}dist/cli/parse-run.js`);
  const fd = openSync(file, 'w');
  let buf = new Uint32Array(1 << 20);
  let n = 0;
  const flush = () => {
    writeSync(fd, new Uint8Array(buf.buffer, 0, n * 4));
    n = 0;
  };
  const put = (minCount, words, from, to) => {
    const len = to - from;
    if (n + len + 2 > buf.length) flush();
    if (len + 2 > buf.length) buf = new Uint32Array(len + 2);
    buf[n++] = minCount + 1;
    buf[n++] = len;
    buf.set(words.subarray(from, to), n);
    n += len;
  };
  const P = Kmemleak.prototype;
  const { applyEvents, alloc, free } = P;
  const one = new Uint32Array(3);
  let depth = 0;
  P.applyEvents = function (words, from, to, minCount) {
    if (depth === 0 && this.active) put(minCount, words, from, to);
    depth++;
    try { return applyEvents.call(this, words, from, to, minCount); } finally { depth--; }
  };
  P.alloc = function (ptr, size, minCount, trace) {
    if (depth === 0 && this.active) { one[0] = ptr; one[1] = size; one[2] = trace; put(minCount, one, 0, 3); }
    depth++;
    try { return alloc.call(this, ptr, size, minCount, trace); } finally { depth--; }
  };
  P.free = function (ptr, trace) {
    if (depth === 0 && this.active) { one[0] = ptr; one[1] = 0xffffffff; one[2] = trace; put(0, one, 0, 3); }
    depth++;
    try { return free.call(this, ptr, trace); } finally { depth--; }
  };
  const sink = openSync('/dev/null', 'w');
  const opts = toRunOptions(`${root}bench/build/${workload}.wasm`, [], { dir: [], env: [] }, {});
  await runModule(opts, { err: () => {}, stdout: sink, stderr: sink });
  flush();
  closeSync(fd);
  console.log(`recorded ${workload} into ${file}`);
}

/** The main thread's CPU time in ns (Linux), or null. */
function mainThreadNs() {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}

async function one(file, dir) {
  const { Kmemleak } = await import(`${dir}/dist/engine/kmemleak.js`);
  const rec = new Uint32Array(readFileSync(file).buffer.slice(0));
  let gcMs = 0;
  const obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) gcMs += e.duration; });
  obs.observe({ entryTypes: ['gc'] });
  const memory = new ArrayBuffer(1 << 16);
  let k, events, c0, t0, wall, c, f0, faults, m0, mainMs, warmMs = 0;
  // WARM=1: one replay first (its engine dropped), so the timed one runs optimized code.
  for (let round = process.env.WARM === '1' ? 0 : 1; round < 2; round++) {
    k = new Kmemleak({ log: () => {}, scanPeriodSecs: 0, minAgeMs: 0 });
    k.attachMemory(() => memory);
    events = 0;
    gcMs = 0;
    c0 = process.cpuUsage();
    m0 = mainThreadNs();
    f0 = process.resourceUsage().minorPageFault;
    t0 = performance.now();
    for (let at = 0; at < rec.length; ) {
      const minCount = rec[at] - 1;
      const len = rec[at + 1];
      k.applyEvents(rec, at + 2, at + 2 + len, minCount);
      events += len / 3;
      at += 2 + len;
    }
    wall = performance.now() - t0;
    c = process.cpuUsage(c0);
    mainMs = m0 === null ? null : (mainThreadNs() - m0) / 1e6;
    faults = process.resourceUsage().minorPageFault - f0;
    if (round === 0) { warmMs = wall; k = null; }
  }
  const stats = k.stats();
  await new Promise((r) => setTimeout(r, 10));
  obs.disconnect();
  console.log(JSON.stringify({ warmMs, events, cpuMs: (c.user + c.system) / 1000, mainMs, wallMs: wall, gcMs, faultMB: faults / 256, rssMB: process.resourceUsage().maxRSS / 1024, live: stats.liveObjects, tableBytes: stats.tableBytes, indexBytes: stats.hashBytes, enabled: k.enabled }));
}

function ab(file, runs, before, after) {
  const res = { before: [], after: [] };
  const cs = [['before', before], ['after', after]];
  for (let i = 0; i < runs; i++) {
    for (const [name, dir] of i % 2 ? cs : [...cs].reverse()) {
      const r = spawnSync(process.execPath, ['--single-threaded-gc', fileURLToPath(import.meta.url), 'one', file, dir], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      res[name].push(JSON.parse(r.stdout));
    }
  }
  const med = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  for (const name of ['before', 'after']) {
    const xs = res[name];
    const f = (k) => med(xs.map((x) => x[k])).toFixed(0);
    console.log(`${name}: CPU ms median ${f('cpuMs')} (main thread ${f('mainMs')}, min ${Math.min(...xs.map((x) => x.mainMs)).toFixed(0)}) wall ${f('wallMs')} min ${Math.min(...xs.map((x) => x.cpuMs)).toFixed(0)}, GC ms ${f('gcMs')}, faulted MB ${f('faultMB')}, max RSS MB ${f('rssMB')}, table ${(xs[0].tableBytes / 1048576).toFixed(1)} MB, index ${(xs[0].indexBytes / 1048576).toFixed(1)} MB, live ${xs[0].live}, events ${xs[0].events}, enabled ${xs[0].enabled}`);
  }
}

async function inproc(file, runs, before, after) {
  const builds = [['before', (await import(`${before}/dist/engine/kmemleak.js`)).Kmemleak], ['after', (await import(`${after}/dist/engine/kmemleak.js`)).Kmemleak]];
  const rec = new Uint32Array(readFileSync(file).buffer.slice(0));
  const memory = new ArrayBuffer(1 << 16);
  const replay = (K) => {
    const k = new K({ log: () => {}, scanPeriodSecs: 0, minAgeMs: 0 });
    k.attachMemory(() => memory);
    const c0 = process.cpuUsage();
    for (let at = 0; at < rec.length; ) {
      const len = rec[at + 1];
      k.applyEvents(rec, at + 2, at + 2 + len, rec[at] - 1);
      at += 2 + len;
    }
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000;
  };
  const cpu = { before: [], after: [] };
  for (let i = -1; i < runs; i++) {
    for (const [name, K] of i % 2 ? builds : [...builds].reverse()) {
      const ms = replay(K);
      if (i >= 0) cpu[name].push(ms);
    }
  }
  for (const name of ['before', 'after']) {
    const xs = [...cpu[name]].sort((x, y) => x - y);
    console.log(`${name}: CPU ms min ${xs[0].toFixed(0)} median ${xs[xs.length >> 1].toFixed(0)} (${xs.map((x) => x.toFixed(0)).join(' ')})`);
  }
}
