// Crash stress (issue 12, point 1): runs the graph workload (bench/workloads/graph.c: N objects of
// 16 B-4 KB, 1% leaked) many times at each size and counts how runs end: normal exits (the
// expected status), deaths by signal (V8's GC crashes are SIGSEGV, SIGABRT, SIGTRAP), other exit
// statuses, and timeouts. One run at a time (the machine has 2 cores), each under `nice -n 10`.
//   bench/build.sh && npm run build
//   node bench/stress-crash.mjs [--runs 50] [--sizes 1000000,4000000,10000000] [--mode kmemleak]
//        [--budget-min 60] [--timeout-s 600]
// --mode kmemleak   bin/kmemleak run (the product; expected status 23: the 1% are reported)
// --mode worker     bin/kmemleak run on its worker path (KMEMLEAK_STACK_MB=64 forces it, as a small
//                   `ulimit -s` or `node bin/kmemleak` does)
// --mode thread-off bin/kmemleak run with KMEMLEAK_THREAD=off (the program on the main thread,
//                   V8's default GC threads: the behaviour before the program thread)
// --mode plain      node bench/plain-run.mjs (no tool; expected status 0)
// --mode plain-stgc node --single-threaded-gc bench/plain-run.mjs
// --budget-min stops starting new runs after that many minutes (what ran is still reported).
// Prints one Markdown table row per size (and a progress line per run on stderr).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const runs = Number(arg('runs', '50'));
const sizes = arg('sizes', '1000000,4000000,10000000').split(',').map(Number);
const mode = arg('mode', 'kmemleak');
const budgetMs = Number(arg('budget-min', '60')) * 60_000;
const timeoutMs = Number(arg('timeout-s', '600')) * 1000;
const wasm = `${root}bench/build/graph.wasm`;
if (!existsSync(wasm)) {
  console.error(`${wasm} is missing: run bench/build.sh`);
  process.exit(2);
}

const modes = {
  kmemleak: { cmd: [`${root}bin/kmemleak`, 'run', wasm], env: {}, ok: 23 },
  worker: { cmd: [`${root}bin/kmemleak`, 'run', wasm], env: { KMEMLEAK_STACK_MB: '64' }, ok: 23 },
  'thread-off': { cmd: [`${root}bin/kmemleak`, 'run', wasm], env: { KMEMLEAK_THREAD: 'off' }, ok: 23 },
  plain: { cmd: [process.execPath, `${root}bench/plain-run.mjs`, wasm], env: {}, ok: 0 },
  'plain-stgc': { cmd: [process.execPath, '--single-threaded-gc', `${root}bench/plain-run.mjs`, wasm], env: {}, ok: 0 },
};
const m = modes[mode];
if (!m) {
  console.error(`unknown --mode ${mode} (one of ${Object.keys(modes).join(', ')})`);
  process.exit(2);
}

function once(size) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn('nice', ['-n', '10', ...m.cmd, String(size)], {
      env: { ...process.env, ...m.env },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const ms = Date.now() - t0;
      resolve({ ms, end: signal ? (ms >= timeoutMs ? 'timeout' : signal) : code === m.ok ? 'ok' : `exit ${code}` });
    });
  });
}

const started = Date.now();
console.log(`mode ${mode}: ${m.cmd.map((c) => c.replace(root, '')).join(' ')} N (${new Date().toISOString()})`);
console.log('| objects | runs | ok | crashes (by signal) | other | median s |\n|---|---|---|---|---|---|');
for (const size of sizes) {
  const ends = new Map();
  const times = [];
  for (let i = 0; i < runs && Date.now() - started < budgetMs; i++) {
    const r = await once(size);
    console.error(`# ${size} run ${i + 1}: ${r.end}, ${(r.ms / 1000).toFixed(1)} s`);   // progress
    ends.set(r.end, (ends.get(r.end) ?? 0) + 1);
    times.push(r.ms);
  }
  const n = times.length;
  const ok = ends.get('ok') ?? 0;
  const crashes = [...ends].filter(([k]) => k.startsWith('SIG'));
  const others = [...ends].filter(([k]) => k !== 'ok' && !k.startsWith('SIG'));
  const fmt = (list) => (list.length ? list.map(([k, v]) => `${v} ${k}`).join(', ') : '0');
  const med = n ? [...times].sort((a, b) => a - b)[n >> 1] / 1000 : NaN;
  console.log(`| ${size.toLocaleString('en')} | ${n}${n < runs ? ` of ${runs} (time budget)` : ''} | ${ok} | ${crashes.reduce((s, [, v]) => s + v, 0)}${crashes.length ? ` (${fmt(crashes)})` : ''} | ${fmt(others)} | ${med.toFixed(1)} |`);
}
