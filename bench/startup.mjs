// Start-up cost of the command line, whole process, medians: node alone, a plain wasm run, and
// kmemleak run with and without V8's code cache of the CLI bundle (bin/load-cli.cjs), and on the
// program thread (bin/program-thread.cjs) or the main thread.
//   npm run build && bench/build.sh && node bench/startup.mjs
import { spawnSync } from 'node:child_process';
const runs = 15;
const cfgs = [
  ['node, empty script', ['node', '-e', '0'], {}],
  ['plain wasm run (bench/plain-run.mjs churn.wasm 0)', ['node', 'bench/plain-run.mjs', 'bench/build/churn.wasm', '0'], {}],
  ['kmemleak run --off churn.wasm 0, code cache on', ['./bin/kmemleak', 'run', '--off', 'bench/build/churn.wasm', '0'], {}],
  ['kmemleak run --off churn.wasm 0, code cache off (KMEMLEAK_CACHE=off)', ['./bin/kmemleak', 'run', '--off', 'bench/build/churn.wasm', '0'], { KMEMLEAK_CACHE: 'off' }],
  ['kmemleak run churn.wasm 0 (detector on, caches warm)', ['./bin/kmemleak', 'run', 'bench/build/churn.wasm', '0'], {}],
  ['node bin/kmemleak run churn.wasm 0 (no #! flags: the worker)', ['node', './bin/kmemleak', 'run', 'bench/build/churn.wasm', '0'], {}],
  ['kmemleak run churn.wasm 0, on the main thread (KMEMLEAK_THREAD=off)', ['./bin/kmemleak', 'run', 'bench/build/churn.wasm', '0'], { KMEMLEAK_THREAD: 'off' }],
];
const times = cfgs.map(() => []);
for (let i = 0; i < runs; i++) cfgs.forEach(([, cmd, env], j) => {
  const t0 = process.hrtime.bigint();
  spawnSync(cmd[0], cmd.slice(1), { env: { ...process.env, ...env }, stdio: 'ignore' });
  times[j].push(Number(process.hrtime.bigint() - t0) / 1e6);
});
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log('| configuration | wall ms (median of ' + runs + ') |\n|---|---|');
cfgs.forEach(([name], j) => console.log(`| ${name} | ${med(times[j]).toFixed(0)} |`));
