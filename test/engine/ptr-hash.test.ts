// The exact-start hash (pointer -> slot): insert/find/remove against a Map, through growth and
// heavy churn, with many keys sharing home buckets.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { PtrHash } from '../../src/engine/ptr-hash.js';

test('random inserts, finds and removes agree with a Map (collisions, growth, backward shifts)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom('add', 'add', 'del', 'find'), fc.integer({ min: 1, max: 3000 })), { maxLength: 3000, size: 'max' }),
      fc.constantFrom(1, 16, 4096, 0x10000),
      (ops, stride) => {
        const keys = new Uint32Array(4096);
        const free: number[] = [];
        let next = 0;
        const h = new PtrHash(() => keys);
        const ref = new Map<number, number>();
        for (const [op, k] of ops) {
          const ptr = (k * stride) >>> 0;
          if (op === 'add') {
            const slot = free.pop() ?? next++;
            keys[slot] = ptr;
            const r = h.insert(ptr, slot);
            if (ref.has(ptr)) {
              expect(r).toBe(ref.get(ptr));
              free.push(slot);
            } else {
              expect(r).toBe(-1);
              ref.set(ptr, slot);
            }
          } else if (op === 'del') {
            const r = h.remove(ptr);
            expect(r).toBe(ref.get(ptr) ?? -1);
            if (ref.has(ptr)) {
              free.push(ref.get(ptr)!);
              ref.delete(ptr);
            }
          } else expect(h.find(ptr)).toBe(ref.get(ptr) ?? -1);
        }
        expect(h.entries).toBe(ref.size);
        for (const [ptr, slot] of ref) expect(h.find(ptr)).toBe(slot);
      },
    ),
    { numRuns: 150 },
  );
});

test('pointers packed a byte apart (many per 16-byte granule) still all fit and are found', () => {
  // Local homes put 16 of these in each home bucket: the table must fall back to mixing the
  // whole pointer rather than grow until it refuses entries.
  const n = 100_000;
  const keys = new Uint32Array(n);
  const h = new PtrHash(() => keys);
  for (let s = 0; s < n; s++) {
    keys[s] = 0x10000 + s;
    expect(h.insert(keys[s], s)).toBe(-1);
  }
  expect(h.entries).toBe(n);
  expect(h.bytes).toBeLessThanOrEqual(4 * 2 ** 18); // load stays near 3/4, not blown up by growth
  for (let s = 0; s < n; s += 7) expect(h.find(0x10000 + s)).toBe(s);
  for (let s = 0; s < n; s += 2) expect(h.remove(0x10000 + s)).toBe(s);
  for (let s = 1; s < n; s += 2) expect(h.find(0x10000 + s)).toBe(s);
});
