// The early pool: operations before attachMemory are kept (bounded) and replayed in order.
import { describe, expect, test } from 'vitest';
import { Kmemleak } from '../../src/engine/index.js';

function early(opts: ConstructorParameters<typeof Kmemleak>[0] = {}) {
  const logs: string[] = [];
  const time = { ms: 0 };
  const k = new Kmemleak({ log: (l) => logs.push(l), now: () => time.ms, clockEvery: 1, minAgeMs: 0, scanPeriodSecs: 0, ...opts });
  return { k, logs, time };
}

describe('early pool', () => {
  test('operations before attachMemory are replayed in order at attach, with their context and time', () => {
    const { k, logs, time } = early();
    k.setContext('_initialize', 1);
    k.alloc(0x1000, 16, 1, 0);
    time.ms = 10;
    k.alloc(0x2000, 16, 1, 0);
    k.alloc(0x3000, 16, 1, 0);
    k.free(0x2000);
    k.notLeak(0x3000);
    k.alloc(0x4000, 32, 1, 0);
    k.scanArea(0x4000, 0, 4);
    k.free(0x7777);
    expect(k.stats().liveObjects).toBe(0);
    expect(k.exitScan()).toBe(0); // no memory yet: nothing to scan
    k.setContext('_start', 1);
    const mem = new ArrayBuffer(0x10000);
    new DataView(mem).setUint32(0x4008, 0x1000, true); // outside the area: does not count
    k.attachMemory(() => mem);
    expect(logs).toEqual(['kmemleak: Freeing unknown object at 0x00007777']);
    expect(k.stats().liveObjects).toBe(3);
    k.exitScan();
    expect(k.leaks().map((r) => [r.address, r.comm, r.jiffies])).toEqual([
      [0x1000, '_initialize', 0],
      [0x4000, '_initialize', 10],
    ]);
  });

  test('overflow disables the detector with a message naming --early-pool', () => {
    const { k, logs } = early({ earlyPoolSize: 4 });
    for (let i = 1; i <= 4; i++) k.alloc(i * 0x100, 8, 1, 0);
    expect(k.enabled).toBe(true);
    k.alloc(0x900, 8, 1, 0);
    expect(k.enabled).toBe(false);
    expect(logs[0]).toBe('kmemleak: Early pool exceeded (4 entries), please increase --early-pool');
    expect(logs).toContain('kmemleak: Memory leak detector disabled');
    k.attachMemory(() => new ArrayBuffer(0x10000));
    k.alloc(0xa00, 8, 1, 0);
    expect(k.exitScan()).toBe(0);
    expect(k.stats().liveObjects).toBe(0);
    expect(k.write('scan')).toBe('Device or resource busy');
  });

  test('a pool of size 0 disables at the first early operation', () => {
    const { k } = early({ earlyPoolSize: 0 });
    k.alloc(0x100, 8, 1, 0);
    expect(k.enabled).toBe(false);
  });

  test('after attach, operations are not pooled', () => {
    const { k } = early({ earlyPoolSize: 1 });
    k.attachMemory(() => new ArrayBuffer(0x10000));
    for (let i = 1; i <= 10; i++) k.alloc(i * 0x100, 8, 1, 0);
    expect(k.enabled).toBe(true);
    expect(k.stats().liveObjects).toBe(10);
  });
});
