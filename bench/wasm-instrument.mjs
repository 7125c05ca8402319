// The rewriter's own costs (src/wasm/instrument, src/wasm/layout): time to instrument modules of
// several sizes, the offset-map lookup, and what the rewritten code costs at run time with no-op
// hooks (the wrappers, the hook crossing, the calling-context code), apart from the engine.
//   node bench/wasm-instrument.mjs [--runs 5]
// Bundles the TypeScript sources with esbuild (no build step needed). Workloads: the runtime's
// bench/build/churn.wasm (bench/build.sh) and committed fixtures and npm packages' modules.
import { build } from 'esbuild';
import { readFileSync, existsSync, mkdtempSync, rmSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WASI } from 'node:wasi';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const argv = process.argv.slice(2);
const runs = Number(argv[argv.indexOf('--runs') + 1] || 5) || 5;
const tmp = mkdtempSync(path.join(tmpdir(), 'kml-bench-'));
const entry = path.join(tmp, 'entry.ts');
const out = path.join(tmp, 'lib.mjs');
await build({
  stdin: { contents: `export * from ${JSON.stringify(path.join(root, 'src/wasm/instrument/index.ts'))};
export { staticLayout } from ${JSON.stringify(path.join(root, 'src/wasm/layout/index.ts'))};`, resolveDir: root, loader: 'ts' },
  bundle: true, platform: 'node', format: 'esm', outfile: out, logLevel: 'warning',
});
void entry;
const { instrument, staticLayout } = await import(pathToFileURL(out).href);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = (f) => { const t = performance.now(); f(); return performance.now() - t; };

console.log(`## Wasm rewriter (instrument, staticLayout)\n`);
console.log(`Machine: ${(await import('node:os')).cpus()[0].model}, ${(await import('node:os')).cpus().length} cores; Node ${process.version}.`);
console.log(`Command: \`node bench/wasm-instrument.mjs\`. Medians of ${runs}.\n`);

const modules = [
  ['test/fixtures/wasm/corpus/simple.wasm', 'corpus simple (C, names + DWARF)'],
  ['test/fixtures/wasm/corpus/widget.wasm', 'corpus widget (C++)'],
  ['node_modules/web-tree-sitter/web-tree-sitter.wasm', 'web-tree-sitter (Emscripten, -O3)'],
  ['node_modules/sql.js/dist/sql-wasm-debug.wasm', 'sql.js debug (Emscripten, SQLite)'],
  ['node_modules/web-tree-sitter/debug/web-tree-sitter.wasm', 'web-tree-sitter debug (names)'],
];
console.log('| module | size | functions | call sites instrumented | instrument | staticLayout | map segments |');
console.log('|---|---|---|---|---|---|---|');
for (const [file, label] of modules) {
  const p = path.join(root, file);
  if (!existsSync(p)) continue;
  const bytes = new Uint8Array(readFileSync(p));
  let r;
  for (let i = 0; i < 5; i++) { r = instrument(bytes); staticLayout(bytes); }
  const ti = median(Array.from({ length: runs }, () => time(() => { r = instrument(bytes); })));
  const entries = r.allocators.map((a) => a.index);
  const tl = median(Array.from({ length: runs }, () => time(() => staticLayout(bytes, { allocatorEntries: entries }))));
  const nf = r.allocators.length ? r.allocators[0].wrapper - r.hooks.length : 0;
  console.log(`| ${label} | ${(bytes.length / 1024).toFixed(0)} KiB | ${nf} | ${r.stats.instrumentedCallSites} | ${ti.toFixed(1)} ms | ${tl.toFixed(1)} ms | ${r.stats.offsetSegments} |`);
}

// originalOffset lookups over the biggest map
{
  const bytes = new Uint8Array(readFileSync(path.join(root, 'node_modules/web-tree-sitter/debug/web-tree-sitter.wasm')));
  const r = instrument(bytes);
  const n = 2_000_000;
  const len = r.binary.length;
  let acc = 0;
  const t = median(Array.from({ length: runs }, () => time(() => {
    for (let i = 0; i < n; i++) acc += r.originalOffset((i * 2654435761) % len);
  })));
  console.log(`\noriginalOffset: ${(t * 1e6 / n).toFixed(0)} ns per lookup (${r.stats.offsetSegments} segments, random offsets; ${acc & 1})`);
}

// Run-time cost of the rewritten code with no-op hooks.
const churn = path.join(root, 'bench/build/churn.wasm');
if (existsSync(churn)) {
  const original = new Uint8Array(readFileSync(churn));
  // Each variant is compiled once and run once before timing, so the timed runs execute V8's
  // optimized (TurboFan) code, not the baseline compiler's.
  const variants = [
    ['original', original],
    ['rewritten, calling context on, no-op hooks', instrument(original).binary],
    ['rewritten, calling context off, no-op hooks', instrument(original, { callingContext: false }).binary],
  ].map(([label, bin]) => [label, new WebAssembly.Module(bin)]);
  // flush is never called here: the event log is not set up, so every event takes its hook.
  const jsHooks = { alloc() {}, free() {}, realloc() {}, flush() {} };
  // The same no-op hooks as wasm functions: what the rewritten code costs without the wasm->JS
  // crossing (the crossing is the price of reporting each event to the engine).
  const wasmHooks = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array([
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    1, 0x16, 3, 0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 0, 0x60, 3, 0x7f, 0x7f, 0x7f, 0, 0x60, 5, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0, // types: alloc, free, realloc
    3, 4, 3, 0, 1, 2, // functions
    7, 0x1a, 3, 5, 0x61, 0x6c, 0x6c, 0x6f, 0x63, 0, 0, 4, 0x66, 0x72, 0x65, 0x65, 0, 1,
    7, 0x72, 0x65, 0x61, 0x6c, 0x6c, 0x6f, 0x63, 0, 2, // exports alloc, free, realloc
    10, 10, 3, 2, 0, 0x0b, 2, 0, 0x0b, 2, 0, 0x0b, // bodies
  ]))).exports;
  variants.push(['rewritten, calling context on, no-op hooks in wasm (no JS crossing)', variants[1][1], { ...wasmHooks, flush() {} }]);
  const runOnce = (mod, hooks = jsHooks) => {
    const fd = openSync(path.join(tmp, 'out'), 'w');
    const wasi = new WASI({ version: 'preview1', args: ['churn', '2000000'], env: {}, returnOnExit: true, stdout: fd });
    const inst = new WebAssembly.Instance(mod, { wasi_snapshot_preview1: wasi.wasiImport, __kmemleak_hooks: hooks });
    const t = time(() => wasi.start(inst));
    closeSync(fd);
    return t;
  };
  const times = variants.map(() => []);
  for (const [, mod, hooks] of variants) runOnce(mod, hooks);
  for (let i = 0; i < runs; i++) variants.forEach(([, mod, hooks], j) => times[j].push(runOnce(mod, hooks)));
  const base = median(times[0]);
  console.log(`\nbench/build/churn.wasm, 2,000,000 malloc/free pairs 3 calls deep, in-process, runs interleaved:\n`);
  console.log('| variant | time | vs original |');
  console.log('|---|---|---|');
  variants.forEach(([label], j) => console.log(`| ${label} | ${(median(times[j]) / 1000).toFixed(3)} s | ${(median(times[j]) / base).toFixed(2)}x |`));
} else {
  console.log('\n(bench/build/churn.wasm missing: run bench/build.sh for the run-time rows)');
}
rmSync(tmp, { recursive: true, force: true });
