// The exact-start index (run + unindexed + hash, exact-index.ts) against a Map: allocations at
// rising addresses (the run), at random addresses (the hash), runs that restart after being
// freed, duplicates, frees in and out of order, syncs in between, its memory lent and overwritten.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { ExactIndex } from '../../src/engine/exact-index.js';
import { ObjectTable } from '../../src/engine/object-table.js';

type Op = ['up' | 'rand' | 'dup' | 'near' | 'far' | 'free' | 'freeNext' | 'sync' | 'lend', number];

function setup(): { t: ObjectTable; x: ExactIndex; dups: number[] } {
  const t = new ObjectTable(16);
  const dups: number[] = [];
  const x = new ExactIndex(t, { duplicate: (dropped) => dups.push(dropped), full: () => expect.fail('full') });
  return { t, x, dups };
}

test('every live object is found at its start, once; duplicates keep the older object', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.constantFrom('up', 'up', 'up', 'rand', 'rand', 'dup', 'near', 'far', 'free', 'free', 'freeNext', 'sync', 'lend'), fc.nat(1 << 20)),
        { maxLength: 3000, size: 'max' },
      ),
      (ops) => {
        const { t, x, dups } = setup();
        const live = new Map<number, number>(); // ptr -> oldest live slot there
        const order: number[] = []; // ptrs in allocation order (may hold freed ones)
        let top = 0x1000;
        let nextFree = 0;
        let seq = 0;
        for (const [op, r] of ops as Op[]) {
          if (op === 'up' || op === 'rand' || op === 'dup' || op === 'near' || op === 'far') {
            let ptr: number;
            if (op === 'up') ptr = top += 16 + (r % 64) * 16;
            else if (op === 'rand') ptr = 0x1000 + (r % 4096) * 16;
            // In the granule of another object (the direct map's second object there), or past
            // the map's 16 MiB window.
            else if (op === 'near') ptr = (order.length > 0 ? order[r % order.length]! : 0x1000) + 4 + 4 * (r % 3);
            else if (op === 'far') ptr = 0x1000 + (1 << 24) + (r % 4096) * 16;
            else ptr = order.length > 0 ? order[r % order.length]! : 0x1000;
            const s = t.create(ptr, 8, 1, 0, 0, 0);
            seq++;
            x.add(s);
            if (!live.has(ptr)) live.set(ptr, s);
            order.push(ptr);
          } else if (op === 'free' || op === 'freeNext') {
            const ptr = op === 'free' ? (order.length > 0 ? order[r % order.length]! : 0x1000) : order[nextFree++ % Math.max(1, order.length)] ?? 0x1000;
            const s = x.takeFree(ptr);
            const want = live.get(ptr);
            if (want === undefined) expect(s).toBe(-1);
            else {
              expect(s).toBe(want);
              t.release(s);
              live.delete(ptr);
            }
          } else if (op === 'lend') {
            // The exit scan's scratch: the lent arrays are overwritten; the index restores itself.
            for (const part of x.lend()) part.fill(0xdeadbeef);
          } else {
            x.sync();
          }
          // Each duplicate dropped is a newer object at a live start: it is released.
          for (const d of dups) expect(t.flags[d]! & 1).toBe(0);
          dups.length = 0;
        }
        x.sync();
        // After a sync every duplicate has met its older twin: the table holds exactly the Map.
        expect(t.live).toBe(live.size);
        for (const [ptr, s] of live) expect(x.find(ptr)).toBe(s);
        expect(seq).toBe(order.length);
      },
    ),
    { numRuns: 200 },
  );
});

test('a structure allocated at rising addresses and freed in order, twice, never touches the hash', () => {
  const { t, x } = setup();
  for (let round = 0; round < 2; round++) {
    const slots: number[] = [];
    for (let i = 0; i < 10000; i++) {
      const s = t.create(0x10000 + i * 48, 40, 1, 0, 0, 0);
      x.add(s);
      slots.push(s);
    }
    for (let i = 0; i < 10000; i++) {
      expect(x.takeFree(0x10000 + i * 48)).toBe(slots[i]);
      t.release(slots[i]!);
    }
  }
  // The hash stayed at its initial size: 256 buckets of 4 bytes (`unindexed` has its initial
  // 1024 of 4; the run is a range of the table's slots and has no memory of its own).
  expect(x.bytes - 4 * 1024).toBe(4 * 256);
  // The second round's run took the first round's slots again, in rising order.
  expect(t.hi).toBe(10000);
});

test('a run blocked by a few objects high up restarts below them (the map stays empty)', () => {
  const { t, x } = setup();
  // A buffer at the heap's top, then a tree built below it, freed, built again.
  x.add(t.create(0x800000, 4096, 1, 0, 0, 0));
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 5000; i++) x.add(t.create(0x10000 + i * 32, 24, 1, 0, 0, 0));
    for (let i = 0; i < 5000; i++) t.release(x.takeFree(0x10000 + i * 32));
  }
  // Neither the hash nor the map took the tree: the map holds the buffer and the first objects
  // built below it (64 in a row must miss the run before it is restarted): a few pages of the map.
  expect(x.bytes - 4 * 1024 - 4 * 256).toBeLessThanOrEqual(3 * 4096);
  expect(t.hi).toBeLessThanOrEqual(5002);
});

test('a run that keeps rising while its objects die does not grow the table', () => {
  const { t, x } = setup();
  const kept: [number, number][] = [];
  for (let i = 0; i < 50000; i++) {
    const ptr = 0x1000 + i * 16;
    const s = t.create(ptr, 8, 1, 0, 0, 0);
    x.add(s);
    if (i % 97 === 0) kept.push([ptr, s]);
    else t.release(x.takeFree(ptr));
  }
  // Dead slots are kept from reuse while their run lasts; the run is drained past 4096 of them.
  expect(t.hi).toBeLessThan(2 * kept.length + 4096 + 64);
  for (const [ptr, s] of kept) expect(x.takeFree(ptr)).toBe(s);
});

test('blocks at random addresses in a small heap, freed at random, never touch the hash', () => {
  const { t, x } = setup();
  const live = new Map<number, number>();
  let r = 12345;
  for (let i = 0; i < 20000; i++) {
    r = (Math.imul(r, 1103515245) + 12345) >>> 0;
    const ptr = 0x20000 + ((r >>> 8) % 8192) * 16;
    const s0 = live.get(ptr);
    if (s0 !== undefined) {
      expect(x.takeFree(ptr)).toBe(s0);
      t.release(s0);
      live.delete(ptr);
    } else {
      const s = t.create(ptr, 16, 1, 0, 0, 0);
      x.add(s);
      live.set(ptr, s);
    }
  }
  x.sync();
  for (const [ptr, s] of live) expect(x.find(ptr)).toBe(s);
  // The hash kept its initial 256 buckets (~4K objects were live): every object was in the direct
  // map, or in the run while allocations had not yet been judged random.
  expect((x as unknown as { hash: { bytes: number } }).hash.bytes).toBe(4 * 256);
  expect(live.size).toBeGreaterThan(3000);
});

test('objects drained from the run when allocations stop rising are still found, and not hashed', () => {
  const { t, x } = setup();
  const live = new Map<number, number>();
  const add = (ptr: number): void => {
    const s = t.create(ptr, 16, 1, 0, 0, 0);
    x.add(s);
    live.set(ptr, s);
  };
  for (let i = 0; i < 3000; i++) add(0x40000 + i * 32); // rising: the run
  let r = 99;
  for (let i = 0; i < 9000; i++) {
    // then at random below them (the run is judged off after 4096 and drained)
    r = (Math.imul(r, 1103515245) + 12345) >>> 0;
    const ptr = 0x10000 + ((r >>> 8) % 8192) * 16;
    if (!live.has(ptr)) add(ptr);
  }
  x.sync(); // `unindexed` into the hash: the drained objects must not be there
  expect((x as unknown as { run: { live: number } }).run.live).toBe(0);
  expect((x as unknown as { hash: { entries: number } }).hash.entries).toBe(0);
  for (const [ptr, s] of live) {
    expect(x.takeFree(ptr)).toBe(s);
    t.release(s);
  }
  expect(t.live).toBe(0);
});

test('objects out of order between rising ones (slots the run steps over) are found, in any order', () => {
  const { t, x } = setup();
  let r = 99;
  const rand = (n: number): number => ((r = (Math.imul(r, 1103515245) + 12345) >>> 0) >>> 8) % n;
  for (let round = 0; round < 3; round++) {
    const live = new Map<number, number>();
    for (let i = 0; i < 4000; i++) {
      // Rising objects, and every third step one below them (a reused chunk): it takes the slot
      // the run would have taken next, and the run steps over it.
      const ptr = i % 3 === 2 ? 0x100 * (1 + rand(0x300)) + 8 : 0x100000 + i * 32;
      if (live.has(ptr)) continue;
      const s = t.create(ptr, 16, 1, 0, 0, 0);
      x.add(s);
      live.set(ptr, s);
    }
    const ptrs = [...live.keys()];
    for (let i = ptrs.length - 1; i > 0; i--) {
      const j = rand(i + 1);
      [ptrs[i], ptrs[j]] = [ptrs[j]!, ptrs[i]!];
    }
    for (const ptr of ptrs) {
      expect(x.takeFree(ptr)).toBe(live.get(ptr));
      t.release(live.get(ptr)!);
    }
    expect(t.live).toBe(0);
  }
  // Each round reused the slots of the one before.
  expect(t.hi).toBeLessThanOrEqual(4000);
});
