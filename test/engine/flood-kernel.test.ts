// The WebAssembly flood kernel (src/engine/kernel): when it runs, where its scratch comes from,
// that it leaves the program's memory as it found it, and that it falls back to the JavaScript
// flood when there is no room. Its results against a reference model are checked by the property
// and large-heap tests, which run both floods.
import { expect, test } from 'vitest';
import { KERNEL_MIN_OBJECTS } from '../../src/engine/options.js';
import { chain, world } from './harness.js';

/** A 64 KiB heap with no room for the kernel's scratch: a chain, one leak at 0x800, an ignored block over the rest. */
function noGapHeap(w: ReturnType<typeof world>): void {
  chain(w, 10, 0x1000);
  w.k.alloc(0x800, 16, 1, 0);
  w.k.alloc(0x2000, (1 << 16) - 0x2000, 1, 0);
  w.k.ignore(0x2000);
}

test("'auto' floods in the kernel from KERNEL_MIN_OBJECTS objects up, in JavaScript below", () => {
  for (const n of [KERNEL_MIN_OBJECTS - 2, KERNEL_MIN_OBJECTS]) {
    const w = world({}, 8 << 20, { mayGrow: false });
    chain(w, n, 0x1000);
    w.k.alloc(0x1000 + n * 64 + 64, 64, 1, 0); // unreferenced
    expect(w.k.exitScan()).toBe(1);
    expect(w.k.stats().kernelScans).toBe(n + 1 >= KERNEL_MIN_OBJECTS ? 1 : 0);
  }
});

test('scratch borrowed from a gap between objects is given back byte for byte', () => {
  const w = world({ scanKernel: 'on' }, 1 << 20, { mayGrow: false });
  chain(w, 100, 0x1000);
  // The only large gap lies between two objects and holds bytes of its own (free lists, say).
  const gapStart = 0x1000 + 100 * 64;
  const tail = 0xf0000;
  w.k.alloc(tail, (1 << 20) - tail, 1, 0);
  w.k.ignore(tail);
  for (let a = gapStart; a < tail; a += 4) w.put32(a, (a * 2654435761) >>> 0);
  w.k.alloc(0x800, 16, 1, 0); // unreferenced
  const before = w.u8.slice();
  expect(w.k.scan()).toBe(1);
  expect(w.k.stats().kernelScans).toBe(1);
  expect(w.mem.byteLength).toBe(1 << 20);
  expect(Buffer.compare(w.u8, before)).toBe(0);
  expect(w.reported()).toEqual([0x800]);
});

test('no gap and a memory that must not grow: the scan floods in JavaScript, with the same result', () => {
  const w = world({ scanKernel: 'on' }, 1 << 16, { mayGrow: false });
  noGapHeap(w);
  expect(w.k.scan()).toBe(1);
  expect(w.k.stats().kernelScans).toBe(0);
  expect(w.mem.byteLength).toBe(1 << 16);
  expect(w.reported()).toEqual([0x800]);
});

test('no gap and a memory at its maximum: the scan floods in JavaScript', () => {
  const w = world({ scanKernel: 'on' }, 1 << 16, { mayGrow: true, maximumPages: 1 });
  noGapHeap(w);
  expect(w.k.scan()).toBe(1);
  expect(w.k.stats().kernelScans).toBe(0);
  expect(w.mem.byteLength).toBe(1 << 16);
  expect(w.reported()).toEqual([0x800]);
});

test('a memory that may grow and has no gap grows once; the grown pages are zero after the scan', () => {
  const w = world({ scanKernel: 'on' }, 1 << 16, { mayGrow: true });
  noGapHeap(w);
  expect(w.k.scan()).toBe(1);
  const grown = w.mem.byteLength;
  expect(grown).toBeGreaterThan(1 << 16);
  expect(new Uint8Array(w.mem, 1 << 16).every((b) => b === 0)).toBe(true);
  expect(w.k.scan()).toBe(0);
  expect(w.mem.byteLength).toBe(grown); // the grown pages are a gap now: reused
  expect(w.k.stats().kernelScans).toBe(2);
  expect(w.reported()).toEqual([0x800]);
});

test('a declared maximum: the memory grows only while it stays within half of it', () => {
  for (const [maxPages, grows] of [[8, true], [3, false]] as const) {
    const w = world({ scanKernel: 'on' }, 1 << 16, { mayGrow: true, maxBytes: maxPages * 65536 });
    noGapHeap(w);
    expect(w.k.scan()).toBe(1);
    // The scratch (~100 KiB) grows the 1-page memory to 3 pages: within half of 8, not of 3.
    expect(w.k.stats().kernelScans).toBe(grows ? 1 : 0);
    expect(w.mem.byteLength > 1 << 16).toBe(grows);
    expect(w.reported()).toEqual([0x800]);
  }
});

test('past half of its maximum, the memory grows for scratch only by at most an eighth of the room left', () => {
  for (const [maxPages, grows] of [[64, true], [48, false]] as const) {
    // 40 pages with no gap; the scratch takes ~2 pages: within 24/8 pages of room, not 8/8.
    const w = world({ scanKernel: 'on' }, 40 << 16, { mayGrow: true, maxBytes: maxPages * 65536 });
    chain(w, 10, 0x1000);
    w.k.alloc(0x800, 16, 1, 0);
    w.k.alloc(0x2000, (40 << 16) - 0x2000, 1, 0);
    w.k.ignore(0x2000);
    expect(w.k.scan()).toBe(1);
    expect(w.k.stats().kernelScans).toBe(grows ? 1 : 0);
    expect(w.mem.byteLength > 40 << 16).toBe(grows);
    expect(w.reported()).toEqual([0x800]);
  }
});

for (const kernel of [false, true]) {
  test(`a chunked scan finished at once (${kernel ? 'kernel' : 'JavaScript'}): a block freed while queued is not scanned`, async () => {
    let w!: ReturnType<typeof world>;
    let finished = -1;
    const scheduler = {
      setTimeout: () => 0,
      clearTimeout: () => {},
      yield: async () => {
        if (finished >= 0) return;
        // After the first chunk (the root range only): X is queued, grey, not yet scanned.
        w.k.free(0xf000);
        finished = w.k.scan();
      },
    };
    w = world({ scheduler, scanChunkWords: 1024, scanKernel: kernel ? 'on' : 'off' }, 1 << 20, { mayGrow: true });
    w.roots.push([0, 4096]); // 1024 words: exactly the first chunk
    chain(w, 500, 0x10000);
    w.put32(4, 0xf000); // the root also points to X ...
    w.k.alloc(0xf000, 64, 1, 0);
    w.put32(0xf000, 0xe000); // ... which alone points to B
    w.k.alloc(0xe000, 64, 1, 0);
    // The finished scan reports B (all zero, so the checksum pass leaves it white); the next
    // full scan has nothing new. Had X been scanned, B would be counted and reported only then.
    expect(await w.k.scanAsync()).toBe(1);
    expect(finished).toBe(0);
    expect(w.reported()).toEqual([0xe000]);
    expect(w.k.stats().kernelScans).toBe(kernel ? 2 : 0);
  });
}
