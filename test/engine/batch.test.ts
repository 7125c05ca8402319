// applyEvents (batch.ts's layout, what the wasm runtime's event log replays) does what the same
// alloc/free calls one by one do: same objects, same warnings, cancelled events skipped, and
// before memory is attached the events go to the early pool.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { EVENT_CANCELLED, EVENT_FREE } from '../../src/engine/batch.js';
import { Kmemleak } from '../../src/engine/index.js';
import { world } from './harness.js';

const evArb = fc.tuple(fc.integer({ min: 0, max: 40 }), fc.constantFrom('a', 'a', 'f', 'c'), fc.integer({ min: 1, max: 64 }));

function words(evs: [number, string, number][]): Uint32Array {
  const w = new Uint32Array(3 * evs.length + 6);
  evs.forEach(([slot, kind, size], i) => {
    w[3 + 3 * i] = slot === 0 ? 0 : 0x1000 + slot * 0x80;
    w[3 + 3 * i + 1] = kind === 'a' ? size : kind === 'f' ? EVENT_FREE : EVENT_CANCELLED;
    w[3 + 3 * i + 2] = 0;
  });
  return w;
}

test('a batch equals its events one by one (objects, warnings)', () => {
  fc.assert(
    fc.property(fc.array(evArb, { maxLength: 200 }), fc.constantFrom(0, 1), (evs, minCount) => {
      const w = words(evs);
      const a = world();
      a.k.applyEvents(w, 3, w.length - 3, minCount);
      const b = world();
      for (let at = 3; at < w.length - 3; at += 3) {
        if (w[at + 1] === EVENT_CANCELLED) continue;
        if (w[at + 1] === EVENT_FREE) b.k.free(w[at]!, w[at + 2]);
        else b.k.alloc(w[at]!, w[at + 1]!, minCount, w[at + 2]!);
      }
      expect(a.logs).toEqual(b.logs);
      expect(a.k.stats().liveObjects).toBe(b.k.stats().liveObjects);
      expect(a.k.exitScan()).toBe(b.k.exitScan());
      expect(a.k.leaks().map((l) => [l.address, l.size])).toEqual(b.k.leaks().map((l) => [l.address, l.size]));
    }),
    { numRuns: 200 },
  );
});

test('before memory is attached, a batch goes to the early pool and is replayed at attach', () => {
  const k = new Kmemleak({ log: () => {}, scanPeriodSecs: 0, minAgeMs: 0 });
  const w = words([[1, 'a', 16], [2, 'a', 16], [1, 'f', 0], [3, 'c', 8]]);
  k.applyEvents(w, 3, w.length - 3, 1);
  k.attachMemory(() => new ArrayBuffer(1 << 16));
  expect(k.stats().liveObjects).toBe(1);
  expect(k.exitScan()).toBe(1);
});

test('a size of 2^31 or more is an allocation, not a marker (sizes are read signed)', () => {
  const a = world();
  const w = new Uint32Array([0x1000, 0x80000000, 7, 0x2000, 0xfffffffd, 7, 0x3000, 16, 7, 0x3000, EVENT_FREE, 7]);
  a.k.applyEvents(w, 0, w.length, 1);
  expect(a.k.stats().liveObjects).toBe(2);
  expect(a.logs).toEqual([]);
  a.k.free(0x2000);
  a.k.free(0x1000);
  expect(a.k.stats().liveObjects).toBe(0);
  expect(a.logs).toEqual([]);
});

test('batches from different views (offsets, buffers) are each read from their own words', () => {
  const a = world();
  const buf = new ArrayBuffer(64);
  new Uint32Array(buf).set([9, 9, 0x1000, 16, 0, 0x1100, 32, 0, 0x1000, EVENT_FREE, 0]);
  a.k.applyEvents(new Uint32Array(buf, 8, 6), 0, 6, 1);   // the two allocations
  a.k.applyEvents(new Uint32Array(buf, 32, 3), 0, 3, 1);  // the free of 0x1000
  expect(a.k.stats().liveObjects).toBe(1);
  a.k.applyEvents(new Uint32Array([0x1100, EVENT_FREE, 0]), 0, 3, 1);
  expect(a.k.stats().liveObjects).toBe(0);
  expect(a.logs).toEqual([]);
});
