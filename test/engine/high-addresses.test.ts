// Objects at and above 2^31, up to the last byte of a 4 GiB memory, in both floods. A
// WebAssembly.Memory is grown past 2 GiB without being filled (only the pages written are
// committed), so these heaps cost a few MB. Each scan is checked against a plain reachability
// fixpoint; the report's addresses, checksums and hex dumps against values computed here. Signed
// 32-bit arithmetic on addresses (`| 0`, `<< 2`, `>> 2`, `byteLength >>> 2` at 4 GiB) is what
// these catch: a word index shifted past 2^31 turned negative, and the checksum of an object above
// 2^31 then walked 4 G bytes one at a time (the 2.14 GB heaps that never finished their exit scan).
import { expect, test } from 'vitest';
import { crc32, isAllZero } from '../../src/engine/crc32.js';
import { Kmemleak } from '../../src/engine/index.js';
import { formatLeak } from '../../src/report/text.js';
import { referenceWhite, rng, type Obj } from './reference.js';
import { world, type World } from './harness.js';

const GiB = 2 ** 30;
const PAGES_4G = 65536;

/** A detector over a memory of `bytes` (whole pages), flooding in the kernel or in JavaScript. */
function bigWorld(bytes: number, kernel: boolean): World {
  return world({ scanKernel: kernel ? 'on' : 'off' }, bytes, { mayGrow: false, maximumPages: PAGES_4G });
}

/**
 * `count` objects from `base`, random sizes, 15% pointer words (to any object, interior or one
 * past the end), the rest zero or noise; a root range at `rootAt` holding pointers. Returns them.
 */
function randomHeap(w: World, r: () => number, base: number, count: number, rootAt: number, targets: Obj[] = []): Obj[] {
  const view = new DataView(w.mem);
  const objs: Obj[] = [];
  let at = base;
  for (let i = 0; i < count; i++) {
    at += Math.floor(r() * 12);
    const size = 4 + Math.floor(r() * 120);
    const pick = r();
    objs.push({ start: at, size, min: pick < 0.05 ? 0 : pick < 0.15 ? 2 : 1 });
    at += size;
  }
  const all = [...targets, ...objs];
  const pointer = (): number => {
    const t = all[Math.floor(r() * all.length)]!;
    return t.start + Math.floor(r() * (t.size + 1));
  };
  for (const o of objs) {
    for (let a = Math.ceil(o.start / 4) * 4; a + 4 <= o.start + o.size; a += 4) {
      const p = r();
      view.setUint32(a, p < 0.15 ? pointer() : p < 0.5 ? 0 : (p * 2 ** 32) >>> 0, true);
    }
  }
  for (let a = rootAt; a < rootAt + 0x100; a += 4) view.setUint32(a, pointer(), true);
  w.roots.push([rootAt, rootAt + 0x100]);
  return objs;
}

function sorted(xs: Iterable<number>): number[] {
  return [...xs].sort((a, b) => a - b);
}

for (const kernel of [false, true]) {
  const how = kernel ? 'WebAssembly flood kernel' : 'JavaScript flood';

  test(`objects straddling 2^31 (a span over 2 GiB): scan equals reachability (${how})`, () => {
    const w = bigWorld(2 * GiB + (64 << 20), kernel);
    const r = rng(kernel ? 5 : 6);
    // Low objects point at high ones and back: both sides of 2^31, and the span is > 2^31.
    const high = randomHeap(w, r, 2 ** 31 + 0x100, 4000, 2 ** 31 - 0x1000);
    const low = randomHeap(w, r, 0x10000, 4000, 0x1000, high);
    const view = new DataView(w.mem);
    // A few words of the high objects point back down.
    for (let i = 0; i < high.length; i += 40) {
      const o = high[i]!;
      if (o.size >= 8) view.setUint32(Math.ceil(o.start / 4) * 4, low[i % low.length]!.start, true);
    }
    const objs = [...low, ...high];
    for (const o of objs) w.k.alloc(o.start, o.size, o.min, 0);
    const expected = referenceWhite(objs, view, w.roots);
    w.k.scan(); // every block is new to the checksum pass: non-zero ones turn grey
    w.k.scan(); // unchanged contents: plain reachability
    expect(expected.size).toBeGreaterThan(50);
    expect([...expected].some((a) => a >= 2 ** 31)).toBe(true);
    expect([...expected].some((a) => a < 2 ** 31)).toBe(true);
    expect(sorted(w.reported())).toEqual(sorted(expected));
    expect(w.k.stats().kernelScans).toBe(kernel ? 2 : 0);
  });

  test(`a heap entirely above 2^31 (offsets from a high base): scan equals reachability (${how})`, () => {
    const w = bigWorld(3 * GiB, kernel);
    const r = rng(kernel ? 11 : 12);
    const objs = randomHeap(w, r, 2 * GiB + (512 << 20), 20000, 0x1000);
    for (const o of objs) w.k.alloc(o.start, o.size, o.min, 0);
    const expected = referenceWhite(objs, new DataView(w.mem), w.roots);
    w.k.scan();
    w.k.scan();
    expect(expected.size).toBeGreaterThan(100);
    expect(sorted(w.reported())).toEqual(sorted(expected));
    expect(w.k.stats().kernelScans).toBe(kernel ? 2 : 0);
  });

  test(`a full 4 GiB memory: the last object ends at 2^32, its last word counts, the report prints it unsigned (${how})`, () => {
    const w = bigWorld(4 * GiB, kernel);
    const top = 2 ** 32;
    const last = top - 64; // ends exactly at 2^32
    const leaked = top - 4096;
    const held = 2 ** 31 + 0x40; // referenced only by the last word of `last`
    const lowLeak = 0x20000;
    w.put32(0x1000, last + 8); // root -> last (interior)
    w.put32(top - 4, held); // last's final word -> held
    w.fill(leaked, 40, 0xab);
    w.fill(lowLeak, 16, 0x11);
    for (const [a, size] of [[last, 64], [held, 32], [leaked, 40], [lowLeak, 16]] as const) w.k.alloc(a, size, 1, 0);
    w.put32(held, leaked + 1000); // past leaked's end: no reference
    w.roots.push([0x1000, 0x1004]);
    expect(w.k.exitScan()).toBe(2);
    expect(sorted(w.reported())).toEqual([lowLeak, leaked]);
    expect(w.k.stats().kernelScans).toBe(kernel ? 1 : 0);
    const rec = w.k.leaks().find((l) => l.address === leaked)!;
    expect(rec.size).toBe(40);
    expect(rec.hex).toBe(Array(32).fill('ab').join(' '));
    expect(rec.crc).toBe(crc32(new Uint8Array(40).fill(0xab), null, 0, 40).toString(16).padStart(8, '0'));
    const text = w.k.read();
    expect(text).toContain('unreferenced object 0xfffff000 (size 40):');
    expect(formatLeak(rec)).toContain('unreferenced object 0xfffff000 (size 40):');
    expect(w.k.write('dump=0xfffff010')).toBe('');
    expect(w.k.control('dump=0xfffff010').output).toContain('0xfffff000');
  });
}

test('free, free_part, annotations and scan areas on objects above 2^31', () => {
  const w = bigWorld(3 * GiB, false);
  const a = 2 ** 31 + 0x1000;
  const b = 0xc0000000;
  const c = 0xbffff000;
  const d = 0xa0000000;
  w.k.alloc(a, 64, 1, 0);
  w.k.alloc(b, 4096, 1, 0);
  w.k.alloc(c, 128, 1, 0);
  w.k.alloc(d, 256, 1, 0);
  w.k.notLeak(a);
  w.k.freePart(b + 2048, 2048); // b keeps [b, b + 2048)
  w.k.free(c, 0);
  w.k.scanArea(d, 16, 8); // only d's words 16..24 are scanned
  w.k.ignore(d); // ...but it is ignored: black, not reported
  expect(w.logs).toEqual([]);
  expect(w.k.exitScan()).toBe(1);
  expect(w.reported()).toEqual([b]);
  expect(w.k.leaks()[0]!.size).toBe(2048);
  expect(w.k.dumpObject(b + 100)).toContain('0xc0000000');
  w.k.free(0xdeadbeef, 0);
  expect(w.logs.join('\n')).toContain('0xdeadbeef');
});

test('operations before memory is attached (the early pool) keep addresses above 2^31', () => {
  const memory = new WebAssembly.Memory({ initial: 2 * 16384 + 16, maximum: PAGES_4G });
  const k = new Kmemleak({ scanPeriodSecs: 0, minAgeMs: 0, log: () => {} });
  k.alloc(0x80000010, 32, 1, 0);
  k.alloc(0x80000100, 32, 1, 0);
  k.free(0x80000100, 0);
  k.attachMemory(() => memory.buffer);
  k.setRootProvider(() => {});
  expect(k.exitScan()).toBe(1);
  expect(k.leaks().map((l) => l.address)).toEqual([0x80000010]);
});

test('crc32 and isAllZero of blocks at 2^31 and ending at 2^32 equal those of the same bytes at 0', () => {
  const memory = new WebAssembly.Memory({ initial: PAGES_4G, maximum: PAGES_4G });
  const u8 = new Uint8Array(memory.buffer);
  const i32 = new Int32Array(memory.buffer);
  const bytes = Uint8Array.from({ length: 100 }, (_, i) => (i * 37 + 1) & 0xff);
  const want = crc32(bytes, null, 0, 100);
  for (const at of [2 ** 31, 2 ** 31 + 3, 2 ** 32 - 100]) {
    u8.set(bytes, at);
    expect(crc32(u8, i32, at, 100)).toBe(want);
    expect(isAllZero(u8, i32, at, 100)).toBe(false);
    u8.fill(0, at, at + 100);
    expect(isAllZero(u8, i32, at, 100)).toBe(true);
  }
  u8[2 ** 32 - 1] = 1; // the last byte is seen
  expect(isAllZero(u8, i32, 2 ** 32 - 100, 100)).toBe(false);
});
