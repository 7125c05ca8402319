// The allocation wrappers' fast path (src/wasm/instrument/wrappers.ts), in-process, on
// bench/build/churn.wasm (2M malloc/free pairs, 3 calls deep): ns per allocation or free event
//   1. wasm level: the rewritten module with the runtime's EventLog as its only host (no engine),
//      against the original module: what the wrappers and the calling-context code cost;
//   2. runModule: `kmemleak run` in-process (hooks, engine) against `--off`.
// `--baseline DIR` adds the same rows for another checkout with dist/ built (before/after runs,
// interleaved run by run). bench/wasm-instrument.mjs's no-op-hook rows never enable the log.
//   npm run build && node bench/wrapper-fast-path.mjs [--runs 11] [--baseline ../old-checkout]
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WASI } from 'node:wasi';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const runs = Number(opt('--runs', '11')) || 11;
const baseline = opt('--baseline', null);
const PAIRS = 2000000;
const churn = path.join(here, 'build', 'churn.wasm');
if (!existsSync(churn)) spawnSync(path.join(here, 'build.sh'), { stdio: 'inherit' });
const original = new Uint8Array(readFileSync(churn));
const tmp = mkdtempSync(path.join(tmpdir(), 'kml-wfp-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function load(label, root) {
  const lib = (p) => import(pathToFileURL(path.join(root, 'dist', p)).href);
  return {
    label,
    instrument: (await lib('wasm/instrument/index.js')).instrument,
    EventLog: (await lib('wasm/runtime/event-log.js')).EventLog,
    runModule: (await lib('wasm/runtime/run.js')).runModule,
    toRunOptions: (await lib('cli/parse-run.js')).toRunOptions,
  };
}
const trees = [];
if (baseline) trees.push(await load('baseline', path.resolve(baseline)));
trees.push(await load(baseline ? 'this tree' : 'rewritten', path.resolve(here, '..')));

/** One run of churn.wasm; with `ins`, the host is an EventLog that knows each context after its first hook. */
function runWasm(mod, ins, EventLog) {
  const fd = openSync(path.join(tmp, 'out'), 'w');
  const wasi = new WASI({ version: 'preview1', args: ['churn', String(PAIRS)], env: {}, returnOnExit: true, stdout: fd });
  let inst = null;
  let log = null;
  const sink = { alloc() {}, free() {} };
  const hooks = ins ? {
    alloc(_p, _s, lo, hi) {
      if (!log) {
        const e = inst.exports, g = ins.exports.eventLog;
        log = new EventLog(e[ins.exports.memory], { pos: e[g.pos], end: e[g.end], start: e[g.start], knownBase: e[g.knownBase], knownMask: e[g.knownMask] }, sink);
        log.enable(e[g.rawMalloc]);
      }
      log.flush();
      log.remember(lo, hi, 1);
    },
    free(_p, lo, hi) { log?.flush(); log?.remember(lo, hi, 2); },
    realloc() {},
    flush() { log.flush(); },
  } : {};
  inst = new WebAssembly.Instance(mod, { wasi_snapshot_preview1: wasi.wasiImport, __kmemleak_hooks: hooks });
  const t = performance.now();
  wasi.start(inst);
  const dt = performance.now() - t;
  closeSync(fd);
  return dt;
}

const perEvent = (ms, base) => (((ms - base) * 1e6) / (2 * PAIRS)).toFixed(1);
console.log(`node ${process.version}, churn.wasm ${PAIRS} malloc/free pairs, medians of ${runs}, runs interleaved\n`);
console.log('| variant | wasm level (EventLog host, no engine) | ns/event | runModule | ns/event over --off |');
console.log('|---|---|---|---|---|');
{
  // Each module is compiled once and run twice before timing (V8's optimized code is timed).
  const wm = [[null, new WebAssembly.Module(original), null],
    ...trees.map((t) => { const ins = t.instrument(original); return [t, new WebAssembly.Module(ins.binary), ins]; })];
  for (const [t, m, ins] of wm) { runWasm(m, ins, t?.EventLog); runWasm(m, ins, t?.EventLog); }
  const wt = wm.map(() => []);
  for (let r = 0; r < runs; r++) wm.forEach(([t, m, ins], j) => wt[j].push(runWasm(m, ins, t?.EventLog)));

  // runModule compiles the module afresh each run, as `kmemleak run` does; each variant keeps
  // its own prepare cache, so no variant reads another's rewritten module.
  const devnull = openSync('/dev/null', 'w');
  const rv = [[trees.at(-1), { off: true }], ...trees.map((t) => [t, {}])];
  const one = async (j) => {
    const [t, extra] = rv[j];
    process.env['KMEMLEAK_CACHE_DIR'] = path.join(tmp, `cache-${j}`);
    const opts = { ...t.toRunOptions(churn, [String(PAIRS)], { dir: [], env: [] }, {}), exitcode: 0, ...extra };
    const t0 = performance.now();
    await t.runModule(opts, { err: () => {}, stdout: devnull });
    return performance.now() - t0;
  };
  for (let j = 0; j < rv.length; j++) await one(j);
  const rt = rv.map(() => []);
  for (let r = 0; r < runs; r++) for (let j = 0; j < rv.length; j++) rt[j].push(await one(j));
  closeSync(devnull);

  const w0 = median(wt[0]), r0 = median(rt[0]);
  console.log(`| original / --off | ${w0.toFixed(1)} ms | | ${r0.toFixed(1)} ms | |`);
  trees.forEach((t, i) => {
    const w = median(wt[i + 1]), r = median(rt[i + 1]);
    console.log(`| ${t.label} | ${w.toFixed(1)} ms | ${perEvent(w, w0)} | ${r.toFixed(1)} ms | ${perEvent(r, r0)} |`);
  });
}
rmSync(tmp, { recursive: true, force: true });
