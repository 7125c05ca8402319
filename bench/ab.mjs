// Before/after: two builds of kmemleak (two checkouts, each built) run alternately on one
// workload: CPU time (user + sys), wall time and peak RSS of each run (/usr/bin/time), min and
// median. On a shared machine alternating runs is what makes a 5-10% difference visible. Minor
// page faults (first writes to fresh pages, ~3 ms a MiB on the benchmark machine) are counted too:
// they move with memory touched, not with the machine's load.
//   node bench/ab.mjs RUNS WORKLOAD BEFORE/bin/kmemleak AFTER/bin/kmemleak [plain] [-- RUN-OPTION...]
// `plain` adds the program without any tool (bench/plain-run.mjs, run with the same V8 flags) as a
// third, for ratios. RUN-OPTIONs replace the default `--exitcode 0 --report /dev/null` (e.g.
// `-- --off`). The program's stdin is a pipe, as in bench/run.mjs.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dash = process.argv.indexOf('--');
const args = dash < 0 ? process.argv.slice(2) : process.argv.slice(2, dash);
const runOptions = dash < 0 ? ['--exitcode', '0', '--report', '/dev/null'] : process.argv.slice(dash + 1);
const [runs, w, before, after, plain] = [Number(args[0] ?? 9), args[1] ?? 'json', args[2], args[3], args[4] === 'plain'];
if (!before || !after) throw new Error('usage: node bench/ab.mjs RUNS WORKLOAD BEFORE/bin/kmemleak AFTER/bin/kmemleak [plain] [-- RUN-OPTION...]');
const wasm = fileURLToPath(new URL(`build/${w}.wasm`, import.meta.url));
const plainRun = fileURLToPath(new URL('plain-run.mjs', import.meta.url));
const cs = [['before', [before, 'run', ...runOptions, wasm]], ['after', [after, 'run', ...runOptions, wasm]]];
if (plain) cs.push(['plain', [process.execPath, '--single-threaded-gc', '--no-flush-bytecode', '--stack-size=6000', plainRun, wasm]]);
const m = Object.fromEntries(cs.map(([name]) => [name, { cpu: [], wall: [], rss: [], faults: [] }]));
for (let i = 0; i < runs; i++) {
  for (const [name, cmd] of i % 2 ? cs : [...cs].reverse()) {
    const r = spawnSync('/usr/bin/time', ['-f', '%U %S %e %M %R', ...cmd], { encoding: 'utf8' });
    const [u, s, e, kb, f] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
    m[name].cpu.push(u + s);
    m[name].wall.push(e);
    m[name].rss.push(kb / 1024);
    m[name].faults.push(f);
  }
}
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const med = (xs) => sorted(xs)[xs.length >> 1];
for (const [name] of cs) {
  const { cpu, wall, rss, faults } = m[name];
  const ratio = plain && name !== 'plain' ? ` (x plain: CPU ${(med(cpu) / med(m.plain.cpu)).toFixed(2)}, wall ${(med(wall) / med(m.plain.wall)).toFixed(2)}, RSS ${(med(rss) / med(m.plain.rss)).toFixed(2)})` : '';
  console.log(`${w} ${name}: CPU s min ${sorted(cpu)[0].toFixed(2)} median ${med(cpu).toFixed(2)} | wall s median ${med(wall).toFixed(2)} | RSS MiB median ${med(rss).toFixed(0)} | faulted MiB median ${(med(faults) / 256).toFixed(0)}${ratio}`);
  console.log(`  CPU ${cpu.map((x) => x.toFixed(2)).join(' ')}`);
}
