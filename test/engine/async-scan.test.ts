// scanAsync(): chunks, yields, objects created or freed while it runs, stopping, memory growth.
import { describe, expect, test } from 'vitest';
import type { Scheduler } from '../../src/engine/index.js';
import { chain, world } from './harness.js';

/** A scheduler whose yield() runs a callback between chunks. */
function steppingScheduler(between: (n: number) => void): Scheduler & { yields: number } {
  const s = {
    yields: 0,
    setTimeout: () => 0,
    clearTimeout: () => {},
    yield: async () => {
      between(s.yields++);
    },
  };
  return s;
}

describe('scanAsync', () => {
  test('a chunked scan yields between chunks and finds the same leaks as a synchronous one', async () => {
    let yields = 0;
    const sched = steppingScheduler(() => yields++);
    const w = world({ scheduler: sched, scanChunkWords: 1024 }, 1 << 20);
    chain(w, 2000);
    w.k.alloc(0xf0000, 64, 1, 0);
    const n = await w.k.exitScan.call(w.k) ; // warm: the exit scan is synchronous
    expect(n).toBe(1);
    const w2 = world({ scheduler: sched, scanChunkWords: 1024 }, 1 << 20);
    chain(w2, 2000);
    w2.k.alloc(0xf0000, 64, 1, 0);
    w2.fill(0xf0000, 64, 0x5a);
    expect(w2.k.scan()).toBe(0); // first checksum pass: never-checksummed, non-zero: grey
    yields = 0;
    const leaks = await w2.k.scanAsync();
    expect(yields).toBeGreaterThan(5);
    expect(leaks).toBe(1);
    expect(w2.reported()).toEqual([0xf0000]);
  });

  test('objects created while it runs are not coloured by it and cannot be reported by it', async () => {
    let w!: ReturnType<typeof world>;
    const sched = steppingScheduler((i) => {
      if (i === 1) w.k.alloc(0xf0000, 64, 1, 0); // unreferenced, created mid-scan
    });
    w = world({ scheduler: sched, scanChunkWords: 1024 }, 1 << 20);
    chain(w, 2000);
    expect(await w.k.scanAsync()).toBe(0);
    expect(w.reported()).toEqual([]);
    expect(w.k.dumpObject(0xf0000)).toContain('count = -1');
    expect(w.k.scan()).toBe(1); // the next scan colours and reports it
  });

  test('objects freed while it runs are skipped safely, and their slots are not reused mid-scan', async () => {
    let w!: ReturnType<typeof world>;
    const sched = steppingScheduler((i) => {
      if (i === 1) {
        // Cut the chain in the middle: the tail becomes unreferenced; then free the tail's head,
        // and allocate new objects (which must not take the freed slots while the scan runs).
        w.put32(0x1000 + 999 * 64, 0);
        w.k.free(0x1000 + 1000 * 64);
        for (let k = 0; k < 10; k++) w.k.alloc(0xf0000 + k * 64, 64, 1, 0);
      }
    });
    w = world({ scheduler: sched, scanChunkWords: 1024 }, 1 << 20);
    chain(w, 2000);
    await w.k.scanAsync();
    expect(w.k.stats().liveObjects).toBe(2000 - 1 + 10);
    w.k.exitScan();
    // Objects 1001.. are a chain with no referent; the ten new ones are unreferenced.
    expect(w.reported().length).toBe(999 + 10);
  });

  test('off while it runs stops it, resolves 0 and frees everything', async () => {
    let w!: ReturnType<typeof world>;
    const sched = steppingScheduler((i) => {
      if (i === 2) expect(w.k.write('off')).toBe('');
    });
    w = world({ scheduler: sched, scanChunkWords: 1024 }, 1 << 20);
    chain(w, 2000);
    w.k.alloc(0xf0000, 64, 1, 0);
    expect(await w.k.scanAsync()).toBe(0);
    expect(w.k.enabled).toBe(false);
    expect(w.k.scanning).toBe(false);
    expect(w.k.stats().liveObjects).toBe(0);
    expect(w.k.read()).toBe('');
  });

  test('stop() abandons it and leaves the table consistent for the next scan', async () => {
    let w!: ReturnType<typeof world>;
    const sched = steppingScheduler((i) => {
      if (i === 1) w.k.stop();
    });
    w = world({ scheduler: sched, scanChunkWords: 1024 }, 1 << 20);
    chain(w, 2000);
    w.k.alloc(0xf0000, 64, 1, 0);
    expect(await w.k.scanAsync()).toBe(0);
    expect(w.k.scanning).toBe(false);
    expect(w.reported()).toEqual([]);
    w.k.free(0x1000 + 5 * 64); // slots released normally again
    w.k.alloc(0x1000 + 5 * 64, 64, 1, 0);
    expect(w.k.exitScan()).toBe(1); // the chain still holds the re-allocated block
    expect(w.reported()).toEqual([0xf0000]);
  });

  test('a synchronous scan during an async one finishes it first', async () => {
    const sched = steppingScheduler(() => {});
    const w = world({ scheduler: sched, scanChunkWords: 1024 }, 1 << 20);
    chain(w, 2000);
    w.k.alloc(0xf0000, 64, 0, 0);
    const p = w.k.scanAsync();
    expect(w.k.scanAsync()).toBe(p); // joins
    expect(w.k.scan()).toBe(0);
    expect(await p).toBe(0);
    expect(w.k.scanning).toBe(false);
  });

  test('memory that grows (a new buffer) between chunks is re-read', async () => {
    let w!: ReturnType<typeof world>;
    const sched = steppingScheduler((i) => {
      if (i === 0) {
        const bigger = new ArrayBuffer(1 << 21);
        new Uint8Array(bigger).set(new Uint8Array(w.mem));
        w.mem = bigger;
        // Only the new buffer holds this pointer, in the grey object scanned last.
        w.put32(0x1000 + 2999 * 64, 0xf0000);
      }
    });
    w = world({ scheduler: sched, scanChunkWords: 1024 }, 1 << 20);
    for (let i = 0; i < 3000; i++) w.k.alloc(0x1000 + i * 64, 64, 0, 0); // grey: scanned, many chunks
    w.k.alloc(0xf0000, 64, 1, 0);
    w.k.alloc(0xf1000, 64, 1, 0);
    expect(await w.k.scanAsync()).toBe(1);
    expect(w.reported()).toEqual([0xf1000]);
  });
});
