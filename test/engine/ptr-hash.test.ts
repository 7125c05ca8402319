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
