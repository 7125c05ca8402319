// Writing many leaks (issue 12): what the exit reports cost with N leaked objects, text and JSON.
// many_leaks.wasm makes N objects from 64 call sites; run once leaking them all and once keeping
// them referenced (same allocations, same scan, nothing to report), in-process, side by side:
// the difference is the cost of describing, formatting and writing N leaks (--report FILE with
// --report-objects, every object listed, and --json FILE). Median of --runs runs each.
//   npm run build && nice node bench/leak-report.mjs [--leaks 100000] [--runs 3]
// Needs bench/build/many_leaks.wasm (bench/build.sh builds it).
import { existsSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runModule } from '../dist/wasm/runtime/run.js';
import { toRunOptions } from '../dist/cli/parse-run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const arg = (name, dflt) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : dflt);
const leaks = arg('--leaks', 100000);
const runs = arg('--runs', 3);
const wasm = path.join(here, 'build', 'many_leaks.wasm');
if (!existsSync(wasm)) spawnSync(path.join(here, 'build.sh'), { stdio: 'inherit' });
const devnull = openSync('/dev/null', 'w');
const dir = mkdtempSync(path.join(tmpdir(), 'kml-leak-report-'));
const report = path.join(dir, 'report.txt');
const json = path.join(dir, 'report.json');

async function once(mode) {
  const opts = { ...toRunOptions(wasm, [String(leaks), mode], { dir: [], env: [] }, {}), exitcode: 0, report, json, reportObjects: true };
  let errText = 0;
  const t = performance.now();
  const c = process.cpuUsage();
  const result = await runModule(opts, { err: (s) => { errText += s.length; }, stdout: devnull });
  const used = process.cpuUsage(c);
  return { secs: (performance.now() - t) / 1000, cpu: (used.user + used.system) / 1e6, result, errText };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`node ${process.version}, many_leaks.wasm: ${leaks} objects from 64 call sites, --report and --json to files, median of ${runs}`);
await once('keep'); // warm-up: prepare cache, JIT
const keep = [];
const leak = [];
const keepCpu = [];
const leakCpu = [];
let sizes = '';
for (let i = 0; i < runs; i++) {
  const kr = await once('keep');
  keep.push(kr.secs);
  keepCpu.push(kr.cpu);
  const r = await once('leak');
  leak.push(r.secs);
  leakCpu.push(r.cpu);
  // A few objects may be held by bytes that look like pointers into the heap (the scan is
  // conservative): argv's "leak\0" read as a word is 0x006b6165, inside this heap (1-2 of 100K).
  if (r.result.leaks !== undefined && (r.result.leaks > leaks || r.result.leaks < leaks - 8)) throw new Error(`expected ${leaks} leaks, got ${r.result.leaks}`);
  sizes = `text ${(statSync(report).size / 1e6).toFixed(1)} MB, JSON ${(statSync(json).size / 1e6).toFixed(1)} MB`;
}
const k = median(keep);
const l = median(leak);
const kc = median(keepCpu);
const lc = median(leakCpu);
// CPU time (this process's threads) as well as wall time: on a busy machine the wall time also
// counts the time other processes held the cores.
console.log(`objects kept (nothing reported)   ${k.toFixed(3)} s wall, ${kc.toFixed(3)} s CPU`);
console.log(`objects leaked (all reported)     ${l.toFixed(3)} s wall, ${lc.toFixed(3)} s CPU   (${sizes})`);
console.log(`writing ${leaks} leaks: ${(l - k).toFixed(3)} s wall, ${(lc - kc).toFixed(3)} s CPU (${(((l - k) / leaks) * 1e6).toFixed(1)} µs a leak)`);
rmSync(dir, { recursive: true, force: true });
