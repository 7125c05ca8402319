// Object tracking: add, delete, free_part, annotations, and the warnings for bad input.
import { describe, expect, test } from 'vitest';
import { world } from './harness.js';

describe('object table', () => {
  test('alloc then free untracks the object: nothing to report', () => {
    const w = world();
    w.k.alloc(0x1000, 32, 1, 0);
    w.k.free(0x1000);
    expect(w.k.exitScan()).toBe(0);
    expect(w.k.stats().liveObjects).toBe(0);
  });

  test('slots are reused after free and the table grows past its initial capacity', () => {
    const w = world({}, 1 << 20);
    for (let i = 0; i < 5000; i++) w.k.alloc(0x100 + i * 16, 16, 1, 0);
    for (let i = 0; i < 5000; i += 2) w.k.free(0x100 + i * 16);
    const cap = w.k.stats().slotCapacity;
    for (let i = 0; i < 5000; i += 2) w.k.alloc(0x100 + i * 16, 16, 1, 0);
    expect(w.k.stats().slotCapacity).toBe(cap);
    expect(w.k.stats().liveObjects).toBe(5000);
    expect(w.k.exitScan()).toBe(5000);
  });

  test('free of an unknown pointer is a warning naming it, never an exception', () => {
    const w = world();
    expect(() => w.k.free(0x12340)).not.toThrow();
    expect(w.logs).toContain('kmemleak: Freeing unknown object at 0x00012340');
  });

  test('double free warns the second time', () => {
    const w = world();
    w.k.alloc(0x2000, 8, 1, 0);
    w.k.free(0x2000);
    w.k.free(0x2000);
    expect(w.logs.filter((l) => l.includes('Freeing unknown object at 0x00002000'))).toHaveLength(1);
  });

  test('free of an unknown pointer prints the caller backtrace', () => {
    const w = world();
    const t = w.k.depot.save(new Uint32Array([7, 0x99]), 2);
    w.k.free(0x5000, t);
    expect(w.logs).toEqual(['kmemleak: Freeing unknown object at 0x00005000', '    wasm-function[7]:0x99']);
  });

  test('an add at the start of a live object warns and keeps the existing object', () => {
    const w = world();
    w.k.alloc(0x3000, 32, 1, 0);
    w.k.alloc(0x3000, 64, 1, 0);
    // Allocations are indexed in bulk: the duplicate is found at the next free, annotation or scan.
    expect(w.k.exitScan()).toBe(1);
    expect(w.logs.filter((l) => l.includes('Cannot insert 0x00003000 (size 64)') && l.includes('overlaps existing object 0x00003000 (size 32)'))).toHaveLength(1);
    expect(w.k.leaks()[0]!.size).toBe(32);
  });

  test('a duplicate found by a scan is dropped once; the kept object is then freed normally', () => {
    const w = world();
    w.k.alloc(0x3000, 32, 1, 0);
    w.k.alloc(0x3000, 64, 1, 0);
    w.k.alloc(0x3010, 8, 1, 0); // inside the first: dropped by the same scan
    w.k.scan();
    w.k.alloc(0x4000, 16, 1, 0); // may reuse a dropped slot
    w.k.free(0x3000);
    w.k.free(0x4000);
    expect(w.logs.filter((l) => l.includes('Cannot insert'))).toHaveLength(2);
    expect(w.logs.filter((l) => l.includes('unknown'))).toHaveLength(0);
    expect(w.k.stats().liveObjects).toBe(0);
  });

  test('a duplicate add is warned about before the next free acts', () => {
    const w = world();
    w.k.alloc(0x3000, 32, 1, 0);
    w.k.alloc(0x3000, 64, 1, 0);
    w.k.free(0x3000);
    expect(w.logs).toHaveLength(1);
    expect(w.logs[0]).toContain('Cannot insert 0x00003000 (size 64)');
    expect(w.k.stats().liveObjects).toBe(0);
  });

  test('an add partly overlapping a live object is dropped with a warning at the next scan', () => {
    const w = world();
    w.k.alloc(0x3000, 32, 1, 0);
    w.k.alloc(0x3010, 32, 1, 0); // starts inside the first
    w.k.alloc(0x2ff0, 0x20, 1, 0); // ends inside the first
    w.k.exitScan();
    expect(w.logs.filter((l) => l.includes('overlaps existing object 0x00003000'))).toHaveLength(2);
    expect(w.reported()).toEqual([0x3000]);
    expect(w.k.stats().liveObjects).toBe(1);
  });

  test('pointer 0 is ignored by every hook, silently', () => {
    const w = world();
    w.k.alloc(0, 10, 1, 0);
    w.k.free(0);
    w.k.notLeak(0);
    w.k.ignore(0);
    w.k.noScan(0);
    w.k.scanArea(0, 0, 4);
    w.k.transientLeak(0);
    w.k.updateTrace(0, 1);
    w.k.freePart(0, 4);
    expect(w.logs).toEqual([]);
    expect(w.k.stats().liveObjects).toBe(0);
  });

  test('annotations of unknown objects warn, naming the pointer', () => {
    const w = world();
    w.k.notLeak(0x100);
    w.k.ignore(0x104);
    w.k.noScan(0x108);
    w.k.scanArea(0x10c, 0, 4);
    w.k.transientLeak(0x110);
    w.k.updateTrace(0x114, 1);
    w.k.freePart(0x118, 4);
    expect(w.logs).toEqual([
      'kmemleak: Trying to color unknown object at 0x00000100 as Grey',
      'kmemleak: Trying to color unknown object at 0x00000104 as Black',
      'kmemleak: Not scanning unknown object at 0x00000108',
      'kmemleak: Adding scan area to unknown object at 0x0000010c',
      'kmemleak: Not resetting the checksum of an unknown object at 0x00000110',
      'kmemleak: Updating stack trace for unknown object at 0x00000114',
      'kmemleak: Partially freeing unknown object at 0x00000118 (size 4)',
    ]);
  });

  test('annotations need the exact start (an interior pointer is unknown)', () => {
    const w = world();
    w.k.alloc(0x400, 32, 1, 0);
    w.k.notLeak(0x404);
    expect(w.logs).toEqual(['kmemleak: Trying to color unknown object at 0x00000404 as Grey']);
    expect(w.k.exitScan()).toBe(1);
  });

  test('free_part shrinks at the start', () => {
    const w = world();
    w.k.alloc(0x1000, 64, 1, 0);
    w.k.freePart(0x1000, 16);
    w.k.exitScan();
    expect(w.k.leaks().map((r) => [r.address, r.size])).toEqual([[0x1010, 48]]);
  });

  test('free_part shrinks at the end', () => {
    const w = world();
    w.k.alloc(0x1000, 64, 1, 0);
    w.k.freePart(0x1030, 16);
    w.k.exitScan();
    expect(w.k.leaks().map((r) => [r.address, r.size])).toEqual([[0x1000, 48]]);
  });

  test('free_part in the middle splits the object in two, keeping its backtrace and time', () => {
    const w = world();
    w.k.setContext('make', 3);
    const t = w.k.depot.save(new Uint32Array([1, 2]), 2);
    w.k.alloc(0x1000, 64, 1, t);
    w.time.ms += 50;
    w.k.freePart(0x1010, 16); // interior pointer
    w.k.exitScan();
    const l = w.k.leaks();
    expect(l.map((r) => [r.address, r.size, r.trace, r.comm, r.pid, r.jiffies])).toEqual([
      [0x1000, 16, t, 'make', 3, 0],
      [0x1020, 32, t, 'make', 3, 0],
    ]);
    w.k.free(0x1000);
    w.k.free(0x1020);
    expect(w.k.stats().liveObjects).toBe(0);
  });

  test('free_part of the whole object deletes it', () => {
    const w = world();
    w.k.alloc(0x1000, 64, 1, 0);
    w.k.freePart(0x1000, 64);
    expect(w.k.stats().liveObjects).toBe(0);
  });

  test('update_trace replaces the backtrace', () => {
    const w = world();
    const a = w.k.depot.save(new Uint32Array([1, 1]), 2);
    const b = w.k.depot.save(new Uint32Array([2, 2]), 2);
    w.k.alloc(0x1000, 8, 1, a);
    w.k.updateTrace(0x1000, b);
    w.k.exitScan();
    expect(w.k.leaks()[0]!.trace).toBe(b);
  });

  test('the context (comm, pid) of an allocation is recorded', () => {
    const w = world();
    w.k.alloc(0x100, 8, 1, 0);
    w.k.setContext('sqlite3_exec', 7);
    w.k.alloc(0x200, 8, 1, 0);
    w.k.exitScan();
    expect(w.k.leaks().map((r) => [r.comm, r.pid])).toEqual([
      ['(none)', 0],
      ['sqlite3_exec', 7],
    ]);
  });

  test('hooks never throw, whatever the arguments', () => {
    const w = world();
    const bad = [NaN, -1, 2 ** 40, Infinity, -Infinity, 0.5, 0xffffffff];
    for (const a of bad)
      for (const b of bad) {
        expect(() => {
          w.k.alloc(a, b, b, a);
          w.k.free(a, b);
          w.k.freePart(a, b);
          w.k.scanArea(a, b, b);
          w.k.notLeak(a);
          w.k.updateTrace(a, b);
        }).not.toThrow();
      }
    expect(() => w.k.exitScan()).not.toThrow();
    expect(w.k.enabled).toBe(true);
  });

  test('creation time is the clock sampled every clockEvery hook calls and at setContext', () => {
    const w = world({ clockEvery: 4 });
    w.k.setContext('main', 1); // samples: 1000 ms -> jiffies 0
    w.time.ms = 1100;
    w.k.alloc(0x100, 8, 1, 0); // calls 1..3 reuse the sample
    w.k.alloc(0x200, 8, 1, 0);
    w.k.alloc(0x300, 8, 1, 0);
    w.k.alloc(0x400, 8, 1, 0); // 4th call samples
    w.time.ms = 1200;
    w.k.setContext('main', 1);
    w.k.alloc(0x500, 8, 1, 0);
    w.k.exitScan();
    expect(w.k.leaks().map((r) => r.jiffies)).toEqual([0, 0, 0, 100, 200]);
  });
});
