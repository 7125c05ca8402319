// The runtime's own costs, in-process (no node start-up in the figures): instrumenting and
// starting a module, and the per-allocation hook path with and without the calling-context cache.
//   npm run build && node bench/runtime.mjs [--pairs 2000000]
// Needs bench/build/churn.wasm (bench/build.sh) and dist/ (npm run build).
import { existsSync, openSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runModule } from '../dist/wasm/runtime/run.js';
import { toRunOptions } from '../dist/cli/parse-run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const pairs = Number(argv[argv.indexOf('--pairs') + 1] || 2000000);
const churn = path.join(here, 'build', 'churn.wasm');
if (!existsSync(churn)) spawnSync(path.join(here, 'build.sh'), { stdio: 'inherit' });
const devnull = openSync('/dev/null', 'w');

async function time(label, module, args, extra, n = 5) {
  const secs = [];
  let result;
  for (let i = 0; i < n; i++) {
    const opts = { ...toRunOptions(module, args, { dir: [], env: [] }, {}), exitcode: 0, ...extra };
    const t = performance.now();
    result = await runModule(opts, { err: () => {}, stdout: devnull });
    secs.push((performance.now() - t) / 1000);
  }
  secs.sort((a, b) => a - b);
  const med = secs[Math.floor(n / 2)];
  console.log(`${label.padEnd(44)} ${med.toFixed(3)} s   captures ${result.captures}, contexts ${result.contexts}`);
  return med;
}

console.log(`node ${process.version}, churn.wasm ${pairs} malloc/free pairs (3 calls deep), median of 5`);
const off = await time('--off (no detector)', churn, [String(pairs)], { off: true });
const on = await time('kmemleak run (calling-context cache)', churn, [String(pairs)], {});
console.log(`  per hook call (alloc or free): ${(((on - off) / (2 * pairs)) * 1e9).toFixed(0)} ns over --off`);
const few = Math.min(pairs, 20000);
const offFew = await time(`--off, ${few} pairs`, churn, [String(few)], { off: true });
const noCtx = await time(`no calling context (capture each), ${few} pairs`, churn, [String(few)], { callingContext: false }, 3);
console.log(`  per stack capture: ${(((noCtx - offFew) / few) * 1e6).toFixed(1)} us`);
await time('start-up: churn.wasm with 0 pairs', churn, ['0'], {});
