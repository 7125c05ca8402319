/**
 * Peak memory (issue 12): under `kmemleak run`, no scan grows the program's memory for the flood
 * kernel's scratch (pages grown while it runs would stay a resident hole under its heap; pages
 * grown at exit would raise the run's peak): without a gap in the heap it floods in JavaScript.
 * With KMEMLEAK_SCAN_KERNEL=on every scan may grow it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FloodSession } from '../../src/engine/kernel/flood-kernel.js';
import { fixture, run } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
  delete process.env['KMEMLEAK_SCAN_KERNEL'];
});

describe('scratch growth for the flood kernel under kmemleak run', () => {
  it('neither the scan midscan.c asks for nor the exit scan grows its memory; same leaks', async () => {
    const open = vi.spyOn(FloodSession, 'open');
    const grow = vi.spyOn(WebAssembly.Memory.prototype, 'grow');
    const r = await run(fixture('midscan.wasm'), [], { minAgeMs: 0 });
    const m = /^pages (\d+) (\d+), \d+ new\n$/.exec(r.out);
    expect(m, r.out).not.toBeNull();
    expect(m![2]).toBe(m![1]);
    expect(open).toHaveBeenCalled();               // the kernel was asked, found no gap
    const sessions = open.mock.results.filter((x) => x.type === 'return' && x.value !== null).length;
    expect(sessions).toBe(0);
    expect(grow).not.toHaveBeenCalled();
    expect(r.result.leaks).toBe(100);
  });

  // The scan it asks for replays the event log first (scan-flush.test.ts), so it sees all 80,000
  // blocks and the scratch they need grows the memory each time (89 -> 121 pages). Before that
  // replay the scan saw whatever part of the log's window had reached the table: 89 -> 89..120.
  it('KMEMLEAK_SCAN_KERNEL=on: the scan while it runs grows the memory for the kernel, same leaks', async () => {
    process.env['KMEMLEAK_SCAN_KERNEL'] = 'on';
    const open = vi.spyOn(FloodSession, 'open');
    const r = await run(fixture('midscan.wasm'), [], { minAgeMs: 0 });
    const m = /^pages (\d+) (\d+), \d+ new\n$/.exec(r.out);
    expect(m, r.out).not.toBeNull();
    expect(Number(m![2])).toBeGreaterThan(Number(m![1]));
    const sessions = open.mock.results.filter((x) => x.type === 'return' && x.value !== null).length;
    expect(sessions).toBeGreaterThan(1);           // the scan mid-run and the exit scan's
    expect(r.result.leaks).toBe(100);
  });
});
