// Side-by-side benchmark of the detector against the uninstrumented run (and native tools when
// present): wall time and peak RSS, median of N runs, all configurations interleaved in one run so
// that machine noise hits them alike.
//   node bench/run.mjs [--runs 5] [--only churn,tree,containers] [--configs plain,kmemleak,...]
// --configs keeps the configurations whose key is listed (keys: plain, kmemleak, thread-off,
// stacks-off, fast-path-off, off, native, lsan, valgrind); all by default.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : dflt; };
const runs = Number(opt('--runs', 5));
const only = opt('--only', 'churn,churn_random,interp_realloc,json,tree,containers,tree_recursive').split(',');
const keep = opt('--configs', '').split(',').filter(Boolean);
/** Arguments per workload: the adversarial recursive tree is run at 100K nodes. */
const ARGS = { tree_recursive: ['100000'], sqlite: ['50000'] };
/**
 * Node flags of the plain run. graph: node 20's parallel GC crashes the plain run of a 1M-object
 * heap now and then (issue 12); `kmemleak run` runs programs on a thread with --single-threaded-gc
 * (bin/program-thread.cjs), so the baseline gets the same flag.
 */
const PLAIN_FLAGS = { graph: ['--single-threaded-gc'] };
const build = path.join(here, 'build');
if (only.some((w) => !existsSync(path.join(build, `${w}.wasm`)))) spawnSync(path.join(here, 'build.sh'), { stdio: 'inherit' });

const kml = path.join(root, 'bin', 'kmemleak');
const configs = (w) => {
  const a = ARGS[w] ?? [];
  const wasm = path.join(build, `${w}.wasm`);
  const all = [
    ['plain', 'wasm, no tool', ['node', ...(PLAIN_FLAGS[w] ?? []), path.join(here, 'plain-run.mjs'), wasm, ...a]],
    ['kmemleak', 'kmemleak run', [kml, 'run', '--exitcode', '0', '--report', '/dev/null', wasm, ...a]],
    // the program on node's main thread instead of bin/program-thread.cjs's worker (GC flags)
    ['thread-off', 'kmemleak run, KMEMLEAK_THREAD=off (no program thread)', ['env', 'KMEMLEAK_THREAD=off', kml, 'run', '--exitcode', '0', '--report', '/dev/null', wasm, ...a]],
    ['stacks-off', 'kmemleak run --trace-depth 0 (stacks off)', [kml, 'run', '--trace-depth', '0', '--exitcode', '0', '--report', '/dev/null', wasm, ...a]],
    ['fast-path-off', 'kmemleak run, fast path off (every event a JS call)', ['env', 'KMEMLEAK_FAST_PATH=off', kml, 'run', '--exitcode', '0', '--report', '/dev/null', wasm, ...a]],
    ['off', 'kmemleak run --off (no detector)', [kml, 'run', '--off', wasm, ...a]],
    ['native', 'native, no tool', [path.join(build, `${w}.native`), ...a]],
    ['lsan', 'native LSan', [path.join(build, `${w}.lsan`), ...a]],
    ['valgrind', 'valgrind memcheck', ['valgrind', '-q', '--leak-check=full', path.join(build, `${w}.native`), ...a]],
  ];
  return all.filter(([key]) => key === 'plain' || keep.length === 0 || keep.includes(key)).map(([, name, cmd]) => [name, cmd]);
};

// Wall time from our own clock (/usr/bin/time's %e has 10 ms steps, too coarse for 0.1 s runs;
// the extra fork of time(1) is in every configuration alike); peak RSS and CPU time (user + sys,
// all threads) from time(1). On a shared machine CPU time moves less than wall time: a process
// that is descheduled waits, but is not charged.
function once(cmd) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', ...cmd], { encoding: 'utf8', env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1', LSAN_OPTIONS: 'exitcode=0' } });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const last = (r.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number);
  return { secs, mb: last[0] / 1024, cpu: last[1] + last[2], ok: r.status === 0, err: r.status === 0 ? '' : r.stderr.slice(-300) };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const w of only) {
  const cs = configs(w);
  const times = cs.map(() => []), mems = cs.map(() => []), cpus = cs.map(() => []), fails = cs.map(() => '');
  for (let i = 0; i < runs; i++) {
    cs.forEach(([name, cmd], j) => {
      if (i > 0 && times[j][0] > 20) return; // one run is enough when that slow
      const r = once(cmd);
      if (!r.ok) fails[j] = r.err;
      times[j].push(r.secs); mems[j].push(r.mb); cpus[j].push(r.cpu);
    });
  }
  const base = median(times[0]);
  const baseMem = median(mems[0]), baseCpu = median(cpus[0]);
  console.log(`\n### ${w} (median of ${runs})\n\n| configuration | wall s | × wasm | × wasm, each run (min..max) | CPU s | CPU × wasm | peak RSS MiB | RSS × wasm |\n|---|---|---|---|---|---|---|---|`);
  cs.forEach(([name], j) => {
    const t = median(times[j]);
    // each run's ratio to the plain run of the same round: the spread the noise leaves
    const per = times[j].map((x, i) => x / (times[0][i] ?? base)).sort((p, q) => p - q);
    const spread = per.length > 1 ? `${per[0].toFixed(2)}..${per[per.length - 1].toFixed(2)}` : '';
    const c = median(cpus[j]);
    console.log(`| ${name} | ${t.toFixed(3)} | ${(t / base).toFixed(2)} | ${spread} | ${c.toFixed(2)} | ${(c / baseCpu).toFixed(2)} | ${median(mems[j]).toFixed(0)} | ${(median(mems[j]) / baseMem).toFixed(2)} |${fails[j] ? ' failed: ' + fails[j].split('\n')[0] : ''}`);
  });
}
