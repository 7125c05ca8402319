// Heaps past 2 GiB (issue 12): the exit phase of `kmemleak run` (exit scan and report: from the
// program's last line to the process's end) for heaps of 64 KiB blocks of the given sizes, with
// five leaks at the top of the heap. Builds bench/build/big_heap_4g.wasm (a 4 GiB maximum) from
// bench/workloads/big_heap.c when missing.
//   npm run build && nice node bench/big-heap.mjs [--mb 1990,2140,2290,3500] [--limit 600]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const sizes = opt('--mb', '1000,1990,2140,2290,3500').split(',').map(Number);
const floods = opt('--floods', 'auto,off').split(',');
const limit = Number(opt('--limit', '600'));
const build = path.join(here, 'build');
const wasm = path.join(build, 'big_heap_4g.wasm');
if (!existsSync(wasm)) {
  mkdirSync(build, { recursive: true });
  const obj = path.join(build, 'big_heap_4g.o');
  execFileSync('clang', ['--target=wasm32-wasi', '-O1', '-g', '-c', path.join(here, 'workloads', 'big_heap.c'), '-o', obj]);
  execFileSync('clang', ['--target=wasm32-wasi', '-g', obj, '-o', wasm, '-Wl,--max-memory=4294967296']);
  rmSync(obj);
}
const bin = path.join(here, '..', 'bin', 'kmemleak');

/** The process's CPU seconds so far (all threads; Linux /proc), or NaN. */
function cpuOf(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

/**
 * One run: seconds to the program's last line, seconds from there to exit (wall, and CPU of the
 * process sampled every 50 ms until it ends: on a shared machine wall time counts others' work),
 * leaks reported.
 */
function run(mb, extra) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let t1 = 0;
    let c1 = NaN;
    let cLast = NaN;
    let err = '';
    const p = spawn(process.execPath, [bin, 'run', ...extra, wasm, String(mb)], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.on('data', (d) => {
      if (!t1 && String(d).includes('allocated')) {
        t1 = performance.now();
        c1 = cpuOf(p.pid);
      }
    });
    p.stderr.on('data', (d) => { err += d; });
    const poll = setInterval(() => { const c = cpuOf(p.pid); if (!Number.isNaN(c)) cLast = c; }, 50);
    const timer = setTimeout(() => p.kill('SIGKILL'), limit * 1000);
    p.on('exit', (code, sig) => {
      clearTimeout(timer);
      clearInterval(poll);
      const t2 = performance.now();
      resolve({ run: (t1 - t0) / 1000, exit: t1 ? (t2 - t1) / 1000 : NaN, cpu: cLast - c1, killed: sig === 'SIGKILL', code, leaks: (err.match(/^unreferenced object/gm) ?? []).length });
    });
  });
}

console.log(`node ${process.version}, big_heap_4g.wasm (64 KiB blocks, 4 GiB maximum), limit ${limit} s a run`);
for (const mb of sizes) {
  for (const flood of floods) {
    // KMEMLEAK_SCAN_KERNEL: auto (the kernel when it has scratch room) or off (the JavaScript flood).
    process.env.KMEMLEAK_SCAN_KERNEL = flood;
    const r = await run(mb, []);
    const exit = r.killed ? `> ${limit} s (killed)` : `${r.exit.toFixed(2)} s wall, ${r.cpu.toFixed(2)} s CPU (${(mb / 1000 / r.cpu).toFixed(2)} GB per CPU s)`;
    console.log(`${String(mb).padStart(5)} MB scan kernel ${flood.padEnd(4)} run ${r.run.toFixed(1)} s, exit phase ${exit}, ${r.leaks} leaks, status ${r.code}`);
  }
}
delete process.env.KMEMLEAK_SCAN_KERNEL;
