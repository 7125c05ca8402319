// Creation time and context kept per epoch (run of creations), not per object: lookups by creation
// sequence, compaction that keeps exactly what live objects need, sequence numbers that wrap, and
// the engine reporting the same jiffies and comm through many epochs and compactions.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Epochs } from '../../src/engine/epochs.js';
import { world } from './harness.js';

describe('epochs', () => {
  test('an object gets the time and context of the last epoch started at or before it', () => {
    const e = new Epochs();
    e.note(0, 5, 1);
    e.note(1, 5, 1); // same pair: no new epoch
    e.note(2, 9, 1);
    e.note(7, 9, 3);
    expect(e.count).toBe(3);
    expect([0, 1, 2, 6, 7, 100].map((q) => [e.timeOf(q), e.ctxOf(q)])).toEqual([[5, 1], [5, 1], [9, 1], [9, 1], [9, 3], [9, 3]]);
  });

  test('sequence numbers that wrap past 2^32 still find their epoch', () => {
    const e = new Epochs();
    e.note(0xfffffffe, 1, 0);
    e.note(0xffffffff, 2, 0);
    e.note(0, 3, 0);
    e.note(5, 4, 0);
    expect([0xfffffffe, 0xffffffff, 0, 4, 5, 9].map((q) => e.timeOf(q))).toEqual([1, 2, 3, 3, 4, 4]);
  });

  test('compaction keeps the epoch of every live object (random creations and frees)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(3), fc.nat(2), fc.boolean()), { minLength: 1, maxLength: 400 }), (ops) => {
        const e = new Epochs();
        const truth = new Map<number, [number, number]>();
        const runsUsed = new Set<number>();
        let time = 0;
        let run = -1;
        let last = '';
        ops.forEach(([dt, ctx, keep], seq) => {
          time += dt;
          e.note(seq, time, ctx);
          if (`${time}/${ctx}` !== last) run++;
          last = `${time}/${ctx}`;
          if (keep) { truth.set(seq, [time, ctx]); runsUsed.add(run); }
        });
        e.compact((visit) => { for (const q of truth.keys()) visit(q); });
        for (const [q, [t, c]] of truth) expect([e.timeOf(q), e.ctxOf(q)]).toEqual([t, c]);
        // Nothing is kept that no live object (or the newest epoch) uses.
        expect(e.count).toBeLessThanOrEqual(runsUsed.size + 1);
      }),
      { numRuns: 200 },
    );
  });
});

describe('engine creation times through epochs', () => {
  test('jiffies and comm survive thousands of epochs, frees and compactions', () => {
    const w = world({ clockEvery: 1 });
    const kept: [number, number, string][] = [];
    for (let i = 0; i < 20_000; i++) {
      w.time.ms = 1000 + i; // a new millisecond, hence a new epoch, for every allocation
      if (i % 1000 === 0) w.k.setContext(`task${i}`, i);
      const addr = 0x1000 + i * 16;
      w.k.alloc(addr, 8, 1, 0);
      if (i % 97 === 0) kept.push([addr, i, `task${i - (i % 1000)}`]);
      else w.k.free(addr);
    }
    expect(w.k.stats().tableBytes).toBeLessThan(20_000 * 8); // epochs were compacted, not kept per allocation
    w.k.exitScan();
    const leaks = w.k.leaks();
    expect(leaks.map((l) => [l.address, l.jiffies, l.comm])).toEqual(kept.map(([a, i, comm]) => [a, i, comm]));
  });

  test('free_part keeps the original creation time and context', () => {
    const w = world();
    w.k.setContext('first', 1);
    w.k.alloc(0x1000, 64, 1, 0);
    w.time.ms = 5000;
    w.k.setContext('second', 2);
    for (let i = 0; i < 10; i++) w.k.alloc(0x2000 + i * 16, 8, 1, 0);
    w.k.freePart(0x1010, 16); // splits 0x1000 into two objects
    w.k.exitScan();
    const parts = w.k.leaks().filter((l) => l.address < 0x2000);
    expect(parts.map((l) => [l.address, l.size, l.jiffies, l.comm])).toEqual([[0x1000, 16, 0, 'first'], [0x1020, 32, 0, 'first']]);
  });
});
