// Before/after: two builds of kmemleak (two checkouts, each built) run alternately on one
// workload, CPU time (user + sys, /usr/bin/time) of each run, min and median. On a shared machine
// alternating runs is what makes a 5-10% difference visible. Page faults (first writes to fresh
// pages, ~3 ms a MiB on the benchmark machine) are counted too: they move with memory, not load.
//   node bench/ab.mjs RUNS WORKLOAD BEFORE/bin/kmemleak AFTER/bin/kmemleak
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [runs, w, before, after] = [Number(process.argv[2] ?? 9), process.argv[3] ?? 'json', process.argv[4], process.argv[5]];
if (!before || !after) throw new Error('usage: node bench/ab.mjs RUNS WORKLOAD BEFORE/bin/kmemleak AFTER/bin/kmemleak');
const wasm = fileURLToPath(new URL(`build/${w}.wasm`, import.meta.url));
const cs = [['before', before], ['after', after]];
const cpu = { before: [], after: [] };
const faults = { before: [], after: [] };
for (let i = 0; i < runs; i++) {
  for (const [name, bin] of i % 2 ? cs : [...cs].reverse()) {
    const r = spawnSync('/usr/bin/time', ['-f', '%U %S %R', bin, 'run', '--exitcode', '0', '--report', '/dev/null', wasm], { encoding: 'utf8' });
    const [u, s, f] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
    cpu[name].push(u + s);
    faults[name].push(f);
  }
}
for (const name of ['before', 'after']) {
  const xs = [...cpu[name]].sort((a, b) => a - b);
  const fs = [...faults[name]].sort((a, b) => a - b);
  console.log(`${w} ${name}: CPU s min ${xs[0].toFixed(2)} median ${xs[runs >> 1].toFixed(2)} (${xs.map((x) => x.toFixed(2)).join(' ')}); minor page faults median ${fs[runs >> 1]} (${(fs[runs >> 1] / 256).toFixed(0)} MiB)`);
}
