// Engine benchmarks (run after `npx tsc -p tsconfig.json`): add+delete pairs, scan throughput,
// CRC32, metadata per object at 10M live objects. Prints a Markdown section and, with --write,
// replaces the "## Engine" section of bench/RESULTS.md (other sections are left alone).
//
//   node bench/engine.mjs [--write] [--quick] [--only=pair-small,pair,scan,scan0,crc,mem]
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg, totalmem } from 'node:os';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { Kmemleak } from '../dist/engine/index.js';
import { crc32 } from '../dist/engine/crc32.js';

const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const lines = [];
const out = (s) => {
  lines.push(s);
  console.log(s);
};

const quiet = { log: () => {}, scanPeriodSecs: 0, minAgeMs: 0 };
const ns = (t0, n) => ((performance.now() - t0) * 1e6) / n;
const best = (runs, f) => {
  let b = Infinity;
  for (let i = 0; i < runs; i++) b = Math.min(b, f());
  return b;
};
/** CPU ms (user + system) of f(), best of `runs`: less sensitive than wall time to a shared machine. */
const bestCpu = (runs, f) => {
  let b = Infinity;
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    f();
    const c = process.cpuUsage(c0);
    b = Math.min(b, (c.user + c.system) / 1000);
  }
  return b;
};

// Deterministic PRNG (xorshift32).
let seed = 0x9e3779b9;
const rnd = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
};

function addDelete(live) {
  const k = new Kmemleak(quiet);
  k.attachMemory(() => new ArrayBuffer(64));
  const trace = k.depot.save(new Uint32Array([1, 2, 3, 4]), 4);
  for (let i = 0; i < live; i++) k.alloc(0x100000 + i * 32, 24, 1, trace);
  const N = quick ? 1_000_000 : 10_000_000;
  const pairLoop = () => {
    for (let i = 0; i < N; i++) {
      const p = 0x4000000 + (i & 0xffff) * 16;
      k.alloc(p, 16, 1, trace);
      k.free(p, 0);
    }
  };
  pairLoop(); // warm-up
  const pair = (bestCpu(5, pairLoop) * 1e6) / N;
  // Batches: 64K allocations, then their frees (slots and hash entries churn).
  const B = 65536;
  const batchLoop = () => {
    for (let r = 0; r < N / B; r++) {
      for (let i = 0; i < B; i++) k.alloc(0x4000000 + i * 16, 16, 1, trace);
      for (let i = 0; i < B; i++) k.free(0x4000000 + i * 16, 0);
    }
  };
  const batch = (bestCpu(5, batchLoop) * 1e6) / N;
  const l = live >= 1e6 ? `${live / 1e6}M` : `${live / 1e3}K`;
  out(`| add+delete pair, immediate (${l} live objects in the table) | ${pair.toFixed(1)} ns CPU |`);
  out(`| add+delete pair, 64K adds then 64K frees (${l} live) | ${batch.toFixed(1)} ns CPU |`);
}

function buildHeap(pointerFraction) {
  // 256 MiB of heap holding 1M objects of 256 bytes, above 64 KiB of "static data" (the root).
  const OBJ = quick ? 1 << 17 : 1 << 20;
  const SIZE = 256;
  const BASE = 0x10000;
  const bytes = BASE + OBJ * SIZE;
  // A WebAssembly.Memory, as the adapter hands the engine: the flood kernel can run over it.
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
  const u32 = new Uint32Array(memory.buffer);
  const wordsPerObj = SIZE / 4;
  for (let o = 0; o < OBJ; o++) {
    const w0 = (BASE + o * SIZE) >>> 2;
    for (let w = 0; w < wordsPerObj; w++) {
      const r = rnd();
      if ((r & 0xffff) < pointerFraction * 65536) {
        const t = rnd() % OBJ;
        u32[w0 + w] = BASE + t * SIZE + (rnd() & (SIZE - 1));
      } else {
        // Non-pointers: zeroes, small integers and large values, all outside the heap's range.
        const kind = r >>> 30;
        u32[w0 + w] = kind === 0 ? 0 : kind === 1 ? r & 0x7fff : 0x80000000 | r;
      }
    }
    // A chain keeps every object reachable from the root.
    if (pointerFraction > 0 && o + 1 < OBJ) u32[w0] = BASE + (o + 1) * SIZE;
  }
  u32[0] = BASE;
  return { memory, OBJ, SIZE, BASE, bytes };
}

/**
 * The same heap scanned by two detectors, one flooding in the WebAssembly kernel and one in
 * JavaScript, timed alternately (best of 3 each) so that both see the same machine load.
 */
function scanBench(label, pointerFraction, minCount) {
  const h = buildHeap(pointerFraction);
  const make = (scanKernel) => {
    const k = new Kmemleak({ ...quiet, scanKernel });
    k.attachMemory(() => h.memory.buffer, { memory: h.memory, mayGrow: true });
    k.setRootProvider((add) => add(0, h.BASE));
    for (let o = 0; o < h.OBJ; o++) k.alloc(h.BASE + o * h.SIZE, h.SIZE, minCount, 0);
    k.scan(); // warm-up (JIT); also settles checksums
    k.scan();
    return k;
  };
  const flavours = [
    { name: 'WebAssembly flood kernel', k: make('on'), wall: Infinity, cpu: Infinity },
    { name: 'JavaScript flood', k: make('off'), wall: Infinity, cpu: Infinity },
  ];
  for (let r = 0; r < 3; r++) {
    for (const f of flavours) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      f.k.scan();
      const wall = performance.now() - t0;
      const c = process.cpuUsage(c0);
      f.wall = Math.min(f.wall, wall);
      f.cpu = Math.min(f.cpu, (c.user + c.system) / 1000);
    }
  }
  if (flavours[0].k.stats().kernelScans === 0) throw new Error('the kernel did not run');
  const gbps = (t) => (h.bytes / (t / 1000) / 1e9).toFixed(2);
  for (const f of flavours) {
    out(
      `| scan ${label}: ${(h.bytes / 2 ** 20).toFixed(0)} MiB, ${h.OBJ} objects, ${f.name} | ` +
        `${f.cpu.toFixed(0)} ms CPU = ${gbps(f.cpu)} GB/s (wall ${f.wall.toFixed(0)} ms = ${gbps(f.wall)} GB/s) |`,
    );
  }
  out(`| scan ${label}: memory grown for the kernel's scratch | ${((h.memory.buffer.byteLength - h.bytes) / 2 ** 20).toFixed(1)} MiB (once; reused by later scans) |`);
}

function crcBench() {
  const n = quick ? 1 << 24 : 1 << 28;
  const buf = new ArrayBuffer(n);
  const u8 = new Uint8Array(buf);
  for (let i = 0; i < n; i += 4096) u8[i] = rnd() & 0xff;
  const u32 = new Uint32Array(buf);
  const ms = best(3, () => {
    const t0 = performance.now();
    crc32(u8, u32, 0, n);
    return performance.now() - t0;
  });
  const zms = best(3, () => {
    const t0 = performance.now();
    zlibCrc32(u8);
    return performance.now() - t0;
  });
  if (crc32(u8, u32, 0, n) !== zlibCrc32(u8)) throw new Error('crc mismatch');
  out(`| CRC32 slice-by-8, ${n >>> 20} MiB | ${(n / (ms / 1000) / 1e9).toFixed(2)} GB/s (zlib native: ${(n / (zms / 1000) / 1e9).toFixed(2)} GB/s) |`);
}

function memoryBench() {
  const N = quick ? 1_000_000 : 10_000_000;
  const k = new Kmemleak(quiet);
  const trace = k.depot.save(new Uint32Array([1, 2]), 2);
  k.attachMemory(() => new ArrayBuffer(65536));
  global.gc?.();
  const before = process.memoryUsage().arrayBuffers;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) k.alloc(0x10000 + i * 16, 16, 1, trace);
  const addNs = ns(t0, N);
  const s = k.stats();
  const per = (s.tableBytes + s.hashBytes) / s.liveObjects;
  const tableOnly = (s.tableBytes / s.slotCapacity).toFixed(0);
  out(
    `| metadata at ${N / 1e6}M live objects | ${per.toFixed(1)} B/object (table ${(s.tableBytes / 2 ** 20).toFixed(0)} MiB for ` +
      `${s.slotCapacity} slots at ${tableOnly} B, hash ${(s.hashBytes / 2 ** 20).toFixed(0)} MiB); ${addNs.toFixed(0)} ns per add while growing |`,
  );
  const t1 = performance.now();
  k.scan(); // builds the address snapshot (radix sort) over 10M objects
  const scanMs = performance.now() - t1;
  const s2 = k.stats();
  const after = process.memoryUsage().arrayBuffers;
  out(
    `| scan-time index at ${N / 1e6}M objects | ${(s2.snapshotBytes / s2.liveObjects).toFixed(1)} B/object transient; ` +
      `scan of the (unreadable, clipped) 10M objects ${scanMs.toFixed(0)} ms; ArrayBuffers total ${((after - before) / s2.liveObjects).toFixed(1)} B/object |`,
  );
}

const NOTES = [
  'Reading the figures (targets from issue 2: pair < 100 ns; scan >= 1 GB/s with 10% pointers,',
  '>= 2 GB/s pointer-free; <= 32 B of metadata per object at 10M):',
  '- The machine is shared: repeated runs of this script differ by up to ~30%, and the 1M-live',
  '  pair, bound by cache misses, by up to 2x when neighbours load the memory system (88-209 ns',
  '  in runs of the third session; the table is a quiet run). CPU time is the steadier figure.',
  '- add+delete pair: the immediate pair (alloc, then free of the same block) goes through the',
  '  bulk index (allocations enter the exact-start hash at the next free, annotation or scan:',
  '  syncIndex), so it is one insert and one remove in a warm bucket. With 1M live objects the',
  '  hash (8 MiB) misses the cache on each insert.',
  '- Metadata: 23 bytes per slot (start, size, checksum, trace, creation sequence: 4 each;',
  '  min_count, count, flags: 1 each) since creation time and context moved to epochs (one entry',
  '  per change of millisecond or context, compacted to what live objects use: epochs.ts);',
  '  capacity grows by 1/8 past 4M slots (10.76M slots at 10M objects), plus the exact-start',
  '  hash at 4 bytes an entry (2^24 entries at 10M, load 0.6). Before: 31 B a slot, 40.1 B an',
  '  object.',
  '- scan: the heap is a WebAssembly.Memory (as `kmemleak run` and the API hand it over), scanned',
  '  by two detectors alternately: one floods in the WebAssembly kernel (src/engine/kernel/,',
  '  scanKernel on; what `auto` picks from 32768 objects up), one in JavaScript (scanKernel off;',
  '  what chunked scans and plain ArrayBuffer heaps use). A scan also builds the address index',
  '  (~26 ms at 1M objects), whitens and writes counts back (~13 ms); the kernel path adds its',
  '  scratch set-up, copies and restore (~25 ms).',
  '- Kernel flood, 10% pointers (~140 ms of the ~200; profile of a build with its functions kept',
  '  apart): word filter ~64 ms (SIMD compare, the in-range offsets compacted by a swizzle table',
  '  with no branch, then tested against a white bitmap of one granule per object, again without a',
  '  branch), resolve ~50 ms (~1.75M candidates bucketed by address), reading ahead ~45 ms (the',
  '  next 32 queued objects\' first 8 lines each in one burst, so their misses overlap: without it',
  '  the flood took ~220 ms, as breadth-first generations are sparse in address order), generation',
  '  sort ~7 ms (since then: a bitmap sort for dense generations). Tried and dropped (flood alone, prototype harness): a branch skipping groups of',
  '  eight words with nothing in range (the compaction took 66 ms instead of 31: the branch',
  '  mispredicts where 10% of words are pointers), resolving each word at once instead of in',
  '  batches (280 ms against 235), an address-order sweep instead of generations (242 against',
  '  217, and quadratic on some graphs), reading ahead one object at a time (228 against 224).',
  '- History of the 10%-pointer scan: 0.62 GB/s at the end of the second session (JavaScript',
  '  only). Kernel runs this session (CPU time), first version: 1.26 GB/s (tests running beside',
  '  it), 1.34, 1.32; pointer-free 2.56, 2.51, 2.50. With 3-word entries: 1.40, 1.33, 1.45 (the',
  '  table); pointer-free 2.52, 2.38, 2.52. The prototype flood went from ~220 to ~150 ms with the burst',
  '  read-ahead. Scratch grown: 28.2 MiB with 16-byte entries and a radix buffer, 20.3 since.',
  '- JavaScript flood: the word filter tests eight words at once (one sign test of',
  '  `d | (span - 1 - d)` per word, ANDed) and visits only the words in range; ~200 ms of its',
  '  ~490 is the 6.4M in-range words (a white-bitmap read each, inside a branch that mispredicts',
  '  on half the groups).',
  '- Scratch: the kernel needs ~18 bytes per object (entries of 12 bytes, page table, white',
  '  bitmap, queue, a bitmap for sorting generations) plus 2 MiB of candidate batches (it was 28',
  '  with 16-byte entries and a radix buffer as long as the queue). Here no gap in the heap is big',
  '  enough, so the memory grows once by that much and later scans reuse the grown pages.',
  '- bench/build/tree.wasm (`kmemleak run`, 1M-node tree): the exit scan fell from ~600 to',
  '  ~400 ms with read-ahead in sparse generations of small objects (overlapping the misses of',
  '  the next 16 queued objects), bounds from the snapshot entry, and batched resolve.',
  '- The scan-time index (each object\'s slot in address order and a colour byte, page table,',
  '  white bitmap: ~7.5 bytes an object) and the scanner\'s bounded queue and candidate batches',
  '  exist only during a scan (the kernel\'s copies only during its flood); the exit scan carves',
  '  them from the exact-start index\'s memory, lent for it (issue 12, peak memory).',
];

const section = process.argv.find((a) => a.startsWith('--section='))?.slice(10);
if (section) {
  // Child: one section, its table rows only.
  if (section === 'pair-small') addDelete(100_000);
  if (section === 'pair') addDelete(quick ? 100_000 : 1_000_000);
  if (section === 'scan') scanBench('10% of words point into objects', 0.1, 1);
  if (section === 'scan0') scanBench('pointer-free (all objects grey)', 0, 0);
  if (section === 'crc') crcBench();
  if (section === 'mem') memoryBench();
  process.exit(0);
}

const date = '2026-11-22';
const self = fileURLToPath(import.meta.url);
out('## Engine');
out('');
out(`Machine: ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} cores, shared with other jobs: load average ${loadavg()[0].toFixed(1)} at start), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}.`);
out(`Command: \`npx tsc -p tsconfig.json && node bench/engine.mjs${quick ? ' --quick' : ''}\`. Date: ${date}. Each section in a fresh process; best of 3-5 runs after warm-up; CPU time (user+system) is the headline, wall time beside it.`);
out('');
out('| what | figure |');
out('|---|---|');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
for (const name of ['pair-small', 'pair', 'scan', 'scan0', 'crc', 'mem']) {
  if (only && !only.split(',').includes(name)) continue;
  const rows = execFileSync(process.execPath, [self, `--section=${name}`, ...(quick ? ['--quick'] : [])], { encoding: 'utf8', maxBuffer: 1 << 20 });
  for (const line of rows.split('\n')) if (line.startsWith('|')) lines.push(line), console.log(line);
}
out('');
for (const note of NOTES) out(note);
out('');

if (args.has('--write')) {
  const path = new URL('./RESULTS.md', import.meta.url);
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n';
  const section = lines.join('\n') + '\n';
  const start = text.indexOf('\n## Engine\n');
  let next;
  if (start >= 0) {
    const rest = text.indexOf('\n## ', start + 1);
    next = text.slice(0, start + 1) + section + (rest >= 0 ? text.slice(rest + 1) : '');
  } else next = text.replace(/\n*$/, '\n\n') + section;
  writeFileSync(path, next);
}
