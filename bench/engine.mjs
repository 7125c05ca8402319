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
  const buf = new ArrayBuffer(bytes);
  const u32 = new Uint32Array(buf);
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
  return { buf, OBJ, SIZE, BASE, bytes };
}

function scanBench(label, pointerFraction, minCount) {
  const h = buildHeap(pointerFraction);
  const k = new Kmemleak(quiet);
  k.attachMemory(() => h.buf);
  k.setRootProvider((add) => add(0, h.BASE));
  for (let o = 0; o < h.OBJ; o++) k.alloc(h.BASE + o * h.SIZE, h.SIZE, minCount, 0);
  k.scan(); // warm-up (JIT); also settles checksums
  k.scan();
  const ms = best(3, () => {
    const t0 = performance.now();
    k.scan();
    return performance.now() - t0;
  });
  const cpu = bestCpu(3, () => k.scan());
  const gbps = (t) => (h.bytes / (t / 1000) / 1e9).toFixed(2);
  out(
    `| scan ${label}: ${(h.bytes / 2 ** 20).toFixed(0)} MiB, ${h.OBJ} objects | ` +
      `${cpu.toFixed(0)} ms CPU = ${gbps(cpu)} GB/s (wall ${ms.toFixed(0)} ms = ${gbps(ms)} GB/s) |`,
  );
  return k;
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
  'Reading the figures (targets from issue 2):',
  '- The machine is shared: repeated runs of this script differ by up to ~50% (the 1M-live pair and',
  '  the 10%-pointer scan swing most). CPU time is the steadier figure.',
  '- add+delete pair < 100 ns: met while the table is cache-sized (100K live); with 1M live objects',
  '  the hash bucket (8 MiB table) misses the cache on every insert and the pair swings between',
  '  ~85 and ~250 ns from run to run (alloc/free code untouched this round; the old-engine run of',
  '  this session gave 85.8 and 105.0 ns). Probes and deletions read no keys except',
  '  for entries sharing the home bucket (tag = home bits).',
  '- scan >= 2 GB/s pointer-free: not met (~1.85 GB/s; was ~1.55 side by side). The word filter',
  '  tests eight words at once (one sign test of `d | (span - 1 - d)` per word, ANDed), and a grey',
  '  generation already in address order is not re-sorted. The rest is per-object work for 1M',
  '  grey objects and the per-scan index build (gather, ends, entries, pages: ~20 ms).',
  '- scan >= 1 GB/s with 10% pointers: not met (~0.4 GB/s; was ~0.25-0.29 side by side). What',
  '  helped: a white bitmap (one bit per granule of 1/8 page, ~0.5 B/object, L2-sized at 1M',
  '  objects) replaces the per-page white counts as the word filter: candidates fell from ~3.3M',
  '  to ~1.07M per scan (almost only the references that turn an object grey); grey-queue',
  '  generations are radix sorted (built-in sort: ~70 ms per 1M random entries); candidate',
  '  batches are bucketed by address before resolving (~5-10%). No measurable difference:',
  '  a branch-free word step inside a failing group vs. a branch per word (kept), two four-word',
  '  halves inside an eight-word group, skipping the checksum/report passes when no object is',
  '  white (both reverted). What is left (profile): ~6.7M in-range words cost ~130 ms in the filter even with no',
  '  candidate (a scan of the same heap with all objects grey takes ~285 ms); resolve ~140 ms and',
  '  unwhite ~70 ms are one random index/bitmap access per newly grey object (1M, random order).',
  '- Metadata: 31 bytes per slot (start, size, checksum, trace, creation sequence, jiffies: 4 each;',
  '  min_count, count, context: 2 each; flags: 1), capacity grows by 1/8 past 4M slots, plus the',
  '  exact-start hash at 4 bytes an entry (load <= 3/4). Not changed this round: dropping jiffies',
  '  (derived from the creation sequence) alone gives ~35.8 B; 32 B also needs the slack of table',
  '  growth gone (chunked arrays) or a denser hash, or context folded into the trace handle.',
  '- Before/after, side by side in one session (old engine built in a temporary copy of the tree,',
  '  `--only=scan,scan0`, alternated 3 times, best and range of the 3): 10% pointers old 914 ms',
  '  CPU (914-1461) = 0.29 GB/s, new 668 ms (668-763) = 0.40 GB/s; pointer-free old 174 ms',
  '  (174-176) = 1.54 GB/s, new 144 ms (144-146) = 1.86 GB/s.',
  '- bench/build/tree.wasm (`kmemleak run`, exit scan of a 1M-node tree, --cpu-prof self time of',
  '  the scan loops): old ~700 ms, new ~700-770 ms: no gain. There every pointer is the first',
  '  reference to a white node, so the white bitmap filters nothing and adds its upkeep; the',
  '  cost is one random index read per node (resolve ~300 ms) and one random node read (flood).',
  '- The scan-time index (16-byte entries, page table, white bitmap, radix scratch) and the',
  '  scanner\'s queue and its sort scratch (4 B/object each) exist only during a scan.',
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
