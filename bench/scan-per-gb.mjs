// Scan speed per GB at 1 GiB against ~3.5 GiB (issue 12, point 2): the scan phase alone, on the
// engine, without the program's own run or V8's cost of growing a memory past 2 GiB (a full GC
// at every memory.grow there: see "Heaps past 2 GiB"). The heap is a WebAssembly.Memory (as
// `kmemleak run` hands it over, 4 GiB maximum) of BLOCK-byte objects laid out from 64 KiB up, each
// holding a pointer to the next (so all are reachable from the root) and otherwise the mix of
// bench/engine.mjs (10% pointers to random objects, zeroes, small and large non-pointers), from
// 64 templates. Each size is scanned by the WebAssembly flood kernel and the JavaScript flood,
// alternately, best of --runs CPU times each.
//   npm run build && nice node bench/scan-per-gb.mjs [--gib 1,2,3.5] [--block 65536] [--runs 3]
import { Kmemleak } from '../dist/engine/index.js';

const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const sizes = opt('--gib', '1,2,3.5').split(',').map(Number);
const BLOCK = Number(opt('--block', '65536'));
const runs = Number(opt('--runs', '3'));
const BASE = 0x10000;
const quiet = { log: () => {}, scanPeriodSecs: 0, minAgeMs: 0 };

let seed = 0x9e3779b9;
const rnd = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
};

function buildHeap(gib) {
  const n = Math.floor((gib * 2 ** 30 - BASE) / BLOCK);
  const bytes = BASE + n * BLOCK;
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536), maximum: 65536 });
  const u32 = new Uint32Array(memory.buffer);
  const words = BLOCK / 4;
  const templates = [];
  for (let t = 0; t < 64; t++) {
    const w = new Uint32Array(words);
    for (let i = 0; i < words; i++) {
      const r = rnd();
      if ((r & 0xffff) < 0.1 * 65536) w[i] = BASE + (rnd() % n) * BLOCK + (rnd() & (BLOCK - 1) & ~3);
      else {
        const kind = r >>> 30;
        w[i] = kind === 0 ? 0 : kind === 1 ? r & 0x7fff : 0x80000000 | r;
        // large values must stay outside the heap: above it, or in the zero page below BASE
        if (kind > 1 && w[i] >>> 0 < bytes) w[i] = 0xffff0000 | (r & 0xffff);
      }
    }
    templates.push(w);
  }
  for (let o = 0; o < n; o++) {
    const w0 = (BASE + o * BLOCK) >>> 2;
    u32.set(templates[o & 63], w0);
    u32[w0] = o + 1 < n ? BASE + (o + 1) * BLOCK : 0;
  }
  u32[0] = BASE;
  return { memory, n, bytes };
}

function scanOnce(k) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  k.scan();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

console.log(`node ${process.version}, ${BLOCK}-byte objects, 10% pointers, best of ${runs} (CPU ms; wall in brackets)`);
console.log('| heap | objects | WebAssembly flood kernel | JavaScript flood |');
console.log('|---|---|---|---|');
for (const gib of sizes) {
  const t0 = performance.now();
  const h = buildHeap(gib);
  const built = performance.now() - t0;
  const make = (scanKernel) => {
    const k = new Kmemleak({ ...quiet, scanKernel });
    k.attachMemory(() => h.memory.buffer, { memory: h.memory, mayGrow: true, maxBytes: 2 ** 32 });
    k.setRootProvider((add) => add(0, BASE));
    for (let o = 0; o < h.n; o++) k.alloc(BASE + o * BLOCK, BLOCK, 1, 0);
    k.scan(); // warm-up (JIT, the kernel's scratch); also settles checksums
    return k;
  };
  const flavours = [{ k: make('on'), cpu: Infinity, wall: Infinity }, { k: make('off'), cpu: Infinity, wall: Infinity }];
  for (let r = 0; r < runs; r++) {
    for (const f of flavours) {
      const t = scanOnce(f.k);
      f.cpu = Math.min(f.cpu, t.cpu);
      f.wall = Math.min(f.wall, t.wall);
    }
  }
  if (flavours[0].k.stats().kernelScans === 0) throw new Error('the kernel did not run');
  for (const f of flavours) if (f.k.leaks().length !== 0) throw new Error('a reachable object was reported');
  const gbs = (ms) => (h.bytes / (ms / 1000) / 1e9).toFixed(2);
  const cell = (f) => `${f.cpu.toFixed(0)} ms = ${gbs(f.cpu)} GB/s (${f.wall.toFixed(0)} ms = ${gbs(f.wall)} GB/s)`;
  console.log(`| ${(h.bytes / 2 ** 30).toFixed(2)} GiB | ${h.n} | ${cell(flavours[0])} | ${cell(flavours[1])} |`);
  console.error(`  (heap built in ${(built / 1000).toFixed(1)} s; memory now ${(h.memory.buffer.byteLength / 2 ** 30).toFixed(2)} GiB)`);
}
