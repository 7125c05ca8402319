// The checksums kept by slot (slot-checksums.ts): set/get/delete against a Map, while sparse
// (backward-shift deletions, rehashing), across the switch to a dense column and after it, and
// through the table's growth.
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { SlotChecksums } from '../../src/engine/slot-checksums.js';

test('random sets, gets and deletes agree with a Map, sparse and dense, through growth', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom('set', 'set', 'del', 'get', 'grow'), fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 1, max: 0xffffffff })), { maxLength: 3000, size: 'max' }),
      fc.constantFrom(1024, 4096, 16384),
      (ops, firstCapacity) => {
        let capacity = firstCapacity;
        const c = new SlotChecksums();
        const ref = new Map<number, number>();
        for (const [op, raw, crc] of ops) {
          const s = raw % capacity;
          if (op === 'set') {
            c.set(s, crc, capacity);
            ref.set(s, crc);
          } else if (op === 'del') {
            c.delete(s);
            ref.delete(s);
          } else if (op === 'grow' && capacity < 1 << 16) {
            c.resize(capacity * 2, capacity);
            capacity *= 2;
          }
          expect(c.get(s)).toBe(ref.get(s) ?? 0);
        }
        for (const [s, crc] of ref) expect(c.get(s)).toBe(crc);
      },
    ),
    { numRuns: 100 },
  );
});

test('few checksums stay sparse: 1% of a 10M-slot table costs ~16 bytes each, not a 40 MB column', () => {
  const capacity = 1 << 24;
  const c = new SlotChecksums();
  for (let s = 0; s < 10_000_000; s += 100) c.set(s, s ^ 0x5a5a5a5a, capacity);
  expect(c.bytes).toBeLessThanOrEqual(100_000 * 16 * 2);
  for (let s = 0; s < 10_000_000; s += 100) expect(c.get(s)).toBe((s ^ 0x5a5a5a5a) >>> 0);
  expect(c.get(1)).toBe(0);
  // Past an eighth of the capacity a column is cheaper: it takes over, with every value.
  const small = new SlotChecksums();
  for (let s = 0; s < 200; s++) small.set(s, s + 1, 1024);
  expect(small.bytes).toBe(1024 * 4);
  for (let s = 0; s < 200; s++) expect(small.get(s)).toBe(s + 1);
});
