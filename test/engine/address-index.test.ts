// The scan-time address index: sorting (radix, any insertion order), interior lookups, min/max
// filter, overlap resolution, against brute force.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { AddressSnapshot } from '../../src/engine/address-index.js';
import { ObjectTable } from '../../src/engine/object-table.js';

function brute(objs: { start: number; size: number }[], a: number): number {
  return objs.findIndex((o) => a >= o.start && a < o.start + Math.max(o.size, 1));
}

describe('address index', () => {
  test('lookups match brute force for objects added in any order, over small and huge ranges', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ gap: fc.nat(5000), size: fc.nat(300) }), { minLength: 1, maxLength: 120, size: 'max' }),
        fc.constantFrom(1, 256, 70000, 0x3000000),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.array(fc.nat(), { maxLength: 120, size: 'max' }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 50 }),
        (layout, stretch, base, perm, probes) => {
          let at = base % 0x1000;
          const objs = layout.map((l) => {
            at += l.gap * stretch;
            const o = { start: at, size: l.size };
            at += Math.max(l.size, 1);
            return o;
          }).filter((o) => o.start + Math.max(o.size, 1) <= 0xffffffff);
          // Shuffle the insertion order.
          const order = objs.map((_, i) => i);
          perm.forEach((p, i) => {
            const j = p % order.length;
            const k = i % order.length;
            [order[j], order[k]] = [order[k]!, order[j]!];
          });
          const t = new ObjectTable(16);
          const slotOf = new Map<number, number>();
          for (const i of order) slotOf.set(t.create(objs[i]!.start, objs[i]!.size, 1, 0, 0, 0), i);
          const snap = new AddressSnapshot();
          snap.build(t, () => {
            throw new Error('no overlaps here');
          });
          const check = (a: number) => {
            const e = snap.lookup(a);
            const want = brute(objs, a);
            expect(e < 0 ? -1 : slotOf.get(snap.slotOf(e))).toBe(want);
          };
          for (const o of objs) {
            check(o.start);
            check(o.start + Math.max(o.size, 1) - 1);
            check(o.start + Math.max(o.size, 1));
            if (o.start > 0) check(o.start - 1);
          }
          for (const a of probes) check(a);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('overlapping objects: the newer one is dropped, whichever comes first in address order', () => {
    const t = new ObjectTable(16);
    const a = t.create(0x1000, 0x100, 1, 0, 0, 0);
    const b = t.create(0x0f80, 0x100, 1, 0, 0, 0); // newer, starts before a, overlaps it
    const c = t.create(0x1080, 0x10, 1, 0, 0, 0); // newer, inside a
    const d = t.create(0x2000, 0x10, 1, 0, 0, 0);
    const dropped: [number, number][] = [];
    const snap = new AddressSnapshot();
    snap.build(t, (kept, gone) => {
      dropped.push([kept, gone]);
      t.release(gone);
    });
    expect(dropped).toEqual([
      [a, b],
      [a, c],
    ]);
    expect(snap.n).toBe(2);
    expect(snap.slotOf(snap.lookup(0x10ff))).toBe(a);
    expect(snap.lookup(0x0f80)).toBe(-1);
    expect(snap.slotOf(snap.lookup(0x2000))).toBe(d);
  });
});
