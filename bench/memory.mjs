// Peak memory (issue 12, point 10): the graph workload (bench/workloads/graph.c) at N objects,
// side by side: the plain run (node:wasi, no tool) and `kmemleak run`, peak RSS of each whole
// process (GNU time's %M), then where kmemleak's memory goes: the same run in-process (the
// runtime from dist/, on this thread with the product's GC flags), sampled at each phase of the
// exit scan, with the engine's structures' sizes.
//   bench/build.sh && npm run build && node bench/memory.mjs [N=10000000]
import { spawnSync } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const wasm = `${root}bench/build/graph.wasm`;
const MB = (b) => (b / 1048576).toFixed(0);

if (process.argv[2] === '--breakdown') {
  await breakdown(Number(process.argv[3]));
} else {
  const n = Number(process.argv[2] ?? 10_000_000);
  if (!existsSync(wasm)) throw new Error(`${wasm} is missing: run bench/build.sh`);
  const peak = (cmd, env = {}) => {
    const r = spawnSync('nice', ['-n', '10', '/usr/bin/time', '-f', '%M %e', ...cmd], { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    const last = r.stderr.trim().split('\n').pop().split(' ');
    return { kb: Number(last[0]), s: Number(last[1]) };
  };
  console.log(`graph.wasm ${n} (${new Date().toISOString()})`);
  const plain = peak([process.execPath, '--single-threaded-gc', `${root}bench/plain-run.mjs`, wasm, String(n)]);
  const kml = peak([`${root}bin/kmemleak`, 'run', wasm, String(n)]);
  console.log('| run | peak RSS MB | ratio | wall s |\n|---|---|---|---|');
  console.log(`| plain (node --single-threaded-gc bench/plain-run.mjs) | ${(plain.kb / 1024).toFixed(0)} | 1.00x | ${plain.s} |`);
  console.log(`| kmemleak run | ${(kml.kb / 1024).toFixed(0)} | ${(kml.kb / plain.kb).toFixed(2)}x | ${kml.s} |`);
  const r = spawnSync(process.execPath, ['--single-threaded-gc', fileURLToPath(import.meta.url), '--breakdown', String(n)], { stdio: ['ignore', 'inherit', 'inherit'] });
  process.exitCode = r.status ?? 1;
}

async function breakdown(n) {
  const { runModule } = await import(`${root}dist/wasm/runtime/run.js`);
  const { Kmemleak } = await import(`${root}dist/engine/kmemleak.js`);
  const { AddressSnapshot } = await import(`${root}dist/engine/address-index.js`);
  const { FloodSession } = await import(`${root}dist/engine/kernel/flood-kernel.js`);
  const { toRunOptions } = await import(`${root}dist/cli/parse-run.js`);
  const rows = [];
  let engine = null;
  let memory = () => 0;
  const sample = (phase) => {
    const m = process.memoryUsage();
    rows.push(`| ${phase} | ${MB(m.rss)} | ${MB(process.resourceUsage().maxRSS * 1024)} | ${MB(memory())} | ${MB(m.heapUsed)} | ${MB(m.arrayBuffers)} |`);
  };
  const wrap = (obj, name, before, after) => {
    const f = obj[name];
    obj[name] = function (...a) {
      if (before) before(this);
      const r = f.apply(this, a);
      if (after) after(this, r);
      return r;
    };
  };
  wrap(Kmemleak.prototype, 'attachMemory', null, (self) => { engine = self; memory = () => self.getBuffer().byteLength; });
  wrap(Kmemleak.prototype, 'exitScan', () => sample('program ended, events replayed'), () => sample('exit scan done'));
  wrap(AddressSnapshot.prototype, 'build', null, () => sample('address snapshot built'));
  wrap(FloodSession, 'open', null, () => sample('kernel scratch laid out'));
  wrap(FloodSession.prototype, 'close', () => sample('flood done'));
  const sink = openSync('/dev/null', 'w');
  const opts = toRunOptions(wasm, [String(n)], { dir: [], env: [] }, {});
  await runModule(opts, { err: () => {}, stdout: sink, stderr: sink });
  sample('reports written');
  console.log(`\nwhere kmemleak run's memory goes (in-process, graph ${n}):`);
  console.log('| phase | RSS MB | peak RSS so far MB | wasm memory MB | JS heap used MB | ArrayBuffers (not wasm) MB |\n|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  const e = engine;
  const table = e.table.bytes, snap = e.snap.bytes, hash = e.index.bytes, depot = e.depot.bytes;
  console.log(`\nengine structures at exit: object table ${MB(table)} MB (${(table / e.table.live).toFixed(1)} B/object), ` +
    `address snapshot ${MB(snap)} MB, exact-start hash ${MB(hash)} MB, stack depot ${MB(depot)} MB; live objects ${e.table.live}`);
}
