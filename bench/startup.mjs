// Start-up cost of the command line, whole process, interleaved run by run: node alone, a plain
// wasm run, `kmemleak run --off` (the CLI without the detector) and `kmemleak run` (detector on,
// caches warm), on churn.wasm with 0 steps (a program that does nearly nothing), and optionally
// the same two of another build (BEFORE) for a before/after. CPU is user + sys of the process and
// its threads (bash's `times`, ms resolution), the median; stdin is a pipe, as in bench/run.mjs.
//   npm run build && bench/build.sh && node bench/startup.mjs [RUNS] [BEFORE/bin/kmemleak]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 21);
const before = process.argv[3];
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const wasm = here('build/churn.wasm');
const bin = here('../bin/kmemleak');
const flags = ['--single-threaded-gc', '--no-flush-bytecode', '--stack-size=6000'];
const cfgs = [
  ['node, empty script', [process.execPath, ...flags, '-e', '0']],
  ['plain wasm run (bench/plain-run.mjs, same V8 flags)', [process.execPath, ...flags, here('plain-run.mjs'), wasm, '0']],
  ['kmemleak run --off', [bin, 'run', '--off', wasm, '0']],
  ['kmemleak run (detector on, caches warm)', [bin, 'run', '--exitcode', '0', '--report', '/dev/null', wasm, '0']],
];
if (before) {
  cfgs.push(['before: kmemleak run --off', [before, 'run', '--off', wasm, '0']]);
  cfgs.push(['before: kmemleak run', [before, 'run', '--exitcode', '0', '--report', '/dev/null', wasm, '0']]);
}
const quote = (s) => `'${s.replace(/'/g, "'\\''")}'`;
const m = cfgs.map(() => ({ cpu: [], wall: [], rss: [] }));
for (const [, cmd] of cfgs) spawnSync(cmd[0], cmd.slice(1), { input: '' });   // warm the caches
for (let i = 0; i < runs; i++) {
  const order = cfgs.map((_, j) => j);
  if (i % 2) order.reverse();
  for (const j of order) {
    const script = `${cfgs[j][1].map(quote).join(' ')} >/dev/null 2>&1; times`;
    const t0 = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-f', 'RSS %M', 'bash', '-c', script], { input: '', encoding: 'utf8' });
    m[j].wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    // `times`: the shell's own line, then its children's user and sys (e.g. 0m0.161s 0m0.040s).
    const child = r.stdout.trim().split('\n').pop().split(/\s+/).map((t) => { const [mi, s] = t.split('m'); return Number(mi) * 60 + parseFloat(s); });
    m[j].cpu.push((child[0] + child[1]) * 1000);
    m[j].rss.push(Number(/RSS (\d+)/.exec(r.stderr)[1]) / 1024);
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`| configuration | CPU ms | wall ms | peak RSS MiB |\n|---|---|---|---|`);
cfgs.forEach(([name], j) => console.log(`| ${name} | ${med(m[j].cpu).toFixed(0)} | ${med(m[j].wall).toFixed(0)} | ${med(m[j].rss).toFixed(1)} |`));
