// Allocation cost on 4 threads (issue 18): bench/threads/alloc4 (4 pthreads x OPS malloc+free
// rounds) run plainly (the glue alone) and through kmemleak.emscripten(), side by side, runs
// interleaved; medians. "program" is the time the program measures itself (first pthread_create
// to last join); "process" is the whole node process (start-up, rewrite, replay at exit, exit
// scan). Modes: main waits in pthread_join (no JS runs there: other threads' events wait in the
// log until it returns) or polls with usleep (its clock calls replay them as they come).
//   node bench/threads.mjs [--runs 5] [--ops 100000]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : dflt);
const runs = opt('--runs', 5);
const ops = opt('--ops', 100000);
const dir = path.join(here, 'threads');
const tmp = mkdtempSync(path.join(tmpdir(), 'kml-bench-threads-'));
const entry = path.join(tmp, 'host.mjs');
await build({
  entryPoints: [path.join(root, 'test', 'api', 'threads-entry.ts')], outfile: entry, bundle: true, platform: 'node',
  format: 'esm', target: 'node20', logLevel: 'silent',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
const plain = path.join(tmp, 'plain.cjs');
writeFileSync(plain, "const [, , file, ...args] = process.argv;\nrequire(file)({ arguments: args, wasmBinary: require('fs').readFileSync(file.replace(/\\.js$/, '.wasm')) });\n");

function once(detector, mode) {
  const args = detector
    ? [entry, dir, 'alloc4', 'later', `${ops},${mode}`, '0']
    : [plain, path.join(dir, 'alloc4.js'), String(ops), mode];
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 300_000 });
  const wall = performance.now() - t;
  const m = /: ([\d.]+) ms/.exec(r.stdout);
  if (r.status !== 0 || !m) throw new Error(`run failed (${detector ? 'kmemleak' : 'plain'} ${mode}): ${r.stdout}${r.stderr}`);
  if (detector && !r.stderr.includes('host: exit 0, exit scan 0')) throw new Error(`unexpected report: ${r.stderr}`);
  return { program: Number(m[1]), process: wall };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`machine: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores; node ${process.version}; ${new Date().toISOString().slice(0, 10)}`);
console.log(`command: node bench/threads.mjs --runs ${runs} --ops ${ops}; 4 threads x ${ops} rounds (malloc + free each)`);
console.log('| main waits in | plain: program | kmemleak: program | ratio | plain: process | kmemleak: process | ratio |');
console.log('|---|---|---|---|---|---|---|');
for (const mode of ['join', 'poll']) {
  const p = [], k = [];
  for (let i = 0; i < runs; i++) { p.push(once(false, mode)); k.push(once(true, mode)); }
  const pp = median(p.map((x) => x.program)), kp = median(k.map((x) => x.program));
  const pw = median(p.map((x) => x.process)), kw = median(k.map((x) => x.process));
  console.log(`| ${mode === 'join' ? 'pthread_join' : 'usleep poll'} | ${pp.toFixed(0)} ms | ${kp.toFixed(0)} ms | ${(kp / pp).toFixed(1)}x | ${pw.toFixed(0)} ms | ${kw.toFixed(0)} ms | ${(kw / pw).toFixed(1)}x |`);
}
