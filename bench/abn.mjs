// bench/ab.mjs for several builds: each build's `kmemleak run` (and `plain`: the program without
// any tool, bench/plain-run.mjs with the same V8 flags) on one workload, interleaved run by run
// (order reversed every other round), /usr/bin/time: CPU (user + sys), wall and peak RSS, medians,
// and ratios to the plain run when it is among them. stdin is a pipe, as in bench/run.mjs.
//   node bench/abn.mjs RUNS WORKLOAD A/bin/kmemleak B/bin/kmemleak ... [plain]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [runs, w, ...bins] = process.argv.slice(2);
if (!w || bins.length === 0) throw new Error('usage: node bench/abn.mjs RUNS WORKLOAD BUILD/bin/kmemleak... [plain]');
const wasm = fileURLToPath(new URL(`build/${w}.wasm`, import.meta.url));
const plainRun = fileURLToPath(new URL('plain-run.mjs', import.meta.url));
const cmd = (b) => (b === 'plain'
  ? [process.execPath, '--single-threaded-gc', '--no-flush-bytecode', '--stack-size=6000', plainRun, wasm]
  : [b, 'run', '--exitcode', '0', '--report', '/dev/null', wasm]);
const m = bins.map(() => ({ cpu: [], wall: [], rss: [] }));
for (let i = 0; i < Number(runs); i++) {
  const order = bins.map((_, j) => j);
  if (i % 2) order.reverse();
  for (const j of order) {
    const r = spawnSync('/usr/bin/time', ['-f', '%U %S %e %M', ...cmd(bins[j])], { encoding: 'utf8', input: '' });
    const [u, s, e, kb] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
    m[j].cpu.push(u + s);
    m[j].wall.push(e);
    m[j].rss.push(kb / 1024);
  }
}
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const med = (xs) => sorted(xs)[xs.length >> 1];
const p = bins.indexOf('plain');
bins.forEach((b, j) => {
  const x = m[j];
  const ratio = p >= 0 && p !== j
    ? ` | x plain CPU ${(med(x.cpu) / med(m[p].cpu)).toFixed(2)} wall ${(med(x.wall) / med(m[p].wall)).toFixed(2)} RSS ${(med(x.rss) / med(m[p].rss)).toFixed(2)}` : '';
  console.log(`${w} ${b}: CPU s min ${sorted(x.cpu)[0].toFixed(2)} median ${med(x.cpu).toFixed(2)} | wall s median ${med(x.wall).toFixed(2)} | RSS MiB median ${med(x.rss).toFixed(1)}${ratio}`);
});
