// Live detection figures (issue 14), all configurations interleaved in one run:
//   1. live-locals spilling: wall time of `kmemleak run` on the churn and tree workloads with
//      spilling on and off (KMEMLEAK_SPILL=off), median of N runs, and the spill sites made;
//   2. a sleeping program: how long test/fixtures/live/waits.wasm's 250 ms sleeps take with
//      Node alone (--off), under kmemleak run, and under kmemleak run with --control while
//      commands arrive and automatic scans run; how long a control command takes to answer
//      while the program sleeps, and while it blocks on its stdin (a socket);
//   3. input through a pipe: 4 MB in 64-byte reads (every read through the stdio helper), in
//      4 KiB reads and with fgets (full reads: streaming, direct), --off against kmemleak run.
//   node bench/live.mjs [--runs 7] [--only spill,sleep,input]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const argv = process.argv.slice(2);
const runs = Number(argv[argv.indexOf('--runs') + 1] || 7) || 7;
const only = (argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : 'spill,sleep,input').split(',');
const kml = path.join(root, 'bin', 'kmemleak');
const waits = path.join(root, 'test', 'fixtures', 'live', 'waits.wasm');
const build = path.join(here, 'build');
if (!existsSync(path.join(build, 'churn.wasm'))) spawnSync(path.join(here, 'build.sh'), { stdio: 'inherit' });
const { controlCommand } = await import(path.join(root, 'dist', 'control', 'client.js'));
const { instrument } = await import(path.join(root, 'dist', 'wasm', 'instrument', 'index.js'));
const binary = await import(path.join(root, 'dist', 'wasm', 'binary', 'index.js'));
const { planSpills, FunctionSpill } = await import(path.join(root, 'dist', 'wasm', 'instrument', 'spill.js'));
const { findStackPointer } = await import(path.join(root, 'dist', 'wasm', 'layout', 'stack-pointer.js'));

/** Spill sites per function (by name): where the inserted code runs. */
function spillSitesByFunction(bytes) {
  const m = binary.parseModule(bytes);
  const g = binary.callGraph(m);
  const plan = planSpills(m, g, findStackPointer(m)?.global ?? null);
  const out = {};
  if (!plan) return out;
  for (const body of m.bodies) {
    const fs = new FunctionSpill(plan, m, body.index);
    binary.walkInstructions(m.bytes, body.codeStart, body.end, (ins) => {
      if (fs.isSite(m, ins)) { const n = m.names?.functions.get(body.index) ?? body.index; out[n] = (out[n] ?? 0) + 1; }
    }, false);
  }
  return out;
}
/** User + system CPU seconds of a command (less sensitive than wall time to a loaded machine). */
const cpu = (cmd, env = {}) => {
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', ...cmd], { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: status ${r.status}: ${r.stderr.slice(-300)}`);
  const [u, sy] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return u + sy;
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const wall = (cmd, env = {}, input) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd[0], cmd.slice(1), { env: { ...process.env, ...env }, input, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')}: status ${r.status}: ${String(r.stderr).slice(-300)}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
};

console.log(`# bench/live.mjs, ${new Date().toISOString()}, ${runs} runs, node ${process.version}\n`);

// 1. Spilling cost.
if (only.includes('spill')) {
  console.log('## Live locals: spilling on/off (CPU s = user + sys, median)\n');
  console.log('| workload | spill sites (by function) | spilling on | spilling off | on/off |');
  console.log('|---|---|---|---|---|');
  for (const w of ['churn', 'tree']) {
    const wasm = path.join(build, `${w}.wasm`);
    const sites = spillSitesByFunction(new Uint8Array(readFileSync(wasm)));
    const cmd = [kml, 'run', '--exitcode', '0', '--report', '/dev/null', wasm];
    const on = [], off = [];
    cpu(cmd); cpu(cmd, { KMEMLEAK_SPILL: 'off' });   // fill the prepare cache for both
    for (let i = 0; i < runs; i++) {
      on.push(cpu(cmd));
      off.push(cpu(cmd, { KMEMLEAK_SPILL: 'off' }));
    }
    const a = median(on), b = median(off);
    const list = Object.entries(sites).map(([f, n]) => `${f} ${n}`).join(', ');
    console.log(`| ${w} | ${list} | ${a.toFixed(3)} | ${b.toFixed(3)} | ${(a / b).toFixed(3)} |`);
  }
}

// 2. Sleeps and answers.
function start(args, opts = [], stdin = 'ignore') {
  const dir = mkdtempSync(path.join(tmpdir(), 'kml-bench-'));
  const sock = path.join(dir, 'c.sock');
  const full = opts === null ? ['run', '--off', waits, ...args] : ['run', '--control', sock, ...opts, waits, ...args];
  const c = spawn(kml, full, { stdio: [stdin, 'pipe', 'pipe'] });
  let out = '';
  c.stdout.on('data', (d) => { out += d; });
  const done = new Promise((r) => c.on('close', (code) => r(code)));
  return { c, sock, done, out: () => out };
}
const until = async (f) => { for (let i = 0; i < 400 && !f(); i++) await new Promise((r) => setTimeout(r, 25)); };
const sleeps = (out) => out.trim().split('\n').filter((l) => l.startsWith('slept')).map((l) => Number(l.split(' ')[1]));

async function sleepRun(opts, ask) {
  const p = start(['sleep', '12', '250'], opts);
  const answers = [];
  if (ask) {
    await until(() => existsSync(p.sock) && p.out().includes('slept'));
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      const a = await controlCommand(p.sock, i % 2 ? '' : 'scan');
      if (!a.ok) throw new Error(a.text);
      answers.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await p.done;
  return { sleeps: sleeps(p.out()).slice(1), answers };   // the first sleep overlaps start-up
}
const dev = (xs) => xs.map((x) => x - 250);
const fmt = (xs) => `median ${median(xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)}`;
if (only.includes('sleep')) {
console.log('\n## A program sleeping 12 x 250 ms (ms beyond 250 of each sleep, as the program measures it)\n');
console.log('| configuration | overshoot | control answers while it sleeps (ms) |');
console.log('|---|---|---|');
const plain = await sleepRun(null, false);
console.log(`| node WASI alone (--off) | ${fmt(dev(plain.sleeps))} | |`);
const quiet = await sleepRun(['--scan=off'], false);
console.log(`| kmemleak run --control | ${fmt(dev(quiet.sleeps))} | |`);
const busy = await sleepRun(['--scan=1', '--first-scan', '0.5', '--min-age', '0'], true);
console.log(`| kmemleak run --control, scans every 1 s, 10 commands | ${fmt(dev(busy.sleeps))} | ${fmt(busy.answers)} |`);

// Blocked on stdin (a socket: Node's pipes are socketpairs).
{
  const p = start(['lines'], ['--scan=off'], 'pipe');
  p.c.stdin.write('one line\n');
  await until(() => existsSync(p.sock) && p.out().includes('one line'));
  const ms = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    await controlCommand(p.sock, i % 2 ? '' : 'scan');
    ms.push(performance.now() - t0);
  }
  p.c.stdin.end();
  await p.done;
  console.log(`\nControl answers while the program blocks in fd_read on a socket (ms): ${fmt(ms)}`);
}
}

// 3. Bulk input through a real pipe.
if (only.includes('input')) {
console.log('\n## 4 MB of input through a pipe (wall s, median)\n');
console.log('| mode | node WASI alone (--off) | kmemleak run | ratio |');
console.log('|---|---|---|---|');
let input = '';
for (let i = 0; input.length < 4_000_000; i++) input += `line ${i} of the bulk input\n`;
for (const [mode, what] of [[['drain', '64'], '64-byte read()s: every read through the helper'],
  [['drain', '4096'], '4 KiB read()s: full reads, streaming (direct)'], [['count'], "fgets: stdio's 1 KiB reads"]]) {
  const off = [], on = [];
  const cmd = (o) => ['sh', '-c', `cat | exec "$0" "$@" > /dev/null`, kml, 'run', ...o, waits, ...mode];
  for (let i = 0; i < Math.min(runs, 5); i++) {
    off.push(wall(cmd(['--off']), {}, input));
    on.push(wall(cmd(['--exitcode', '0', '--report', '/dev/null', '--scan=off']), {}, input));
  }
  const a = median(off), b = median(on);
  console.log(`| ${what} | ${a.toFixed(3)} | ${b.toFixed(3)} | ${(b / a).toFixed(2)}x |`);
}
}
