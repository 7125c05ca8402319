/**
 * A scan the program asks for (the `kmemleak.scan` import) replays the event log first: events the
 * wrappers logged in linear memory and the host has not replayed yet are part of what the scan
 * must see. Without that, a block freed since the last replay was reported (a false leak) and a
 * block allocated since was not (a missed one): midscan.c's scan once saw ~79K of its 80K blocks.
 */
import { describe, expect, it } from 'vitest';
import { fixture, run } from './helpers.js';

describe('the scan a program asks for sees every event before it', () => {
  it('scanflush.c: the 300 lost blocks are reported by its own scan, the 200 freed ones are not', async () => {
    const r = await run(fixture('scanflush.wasm'), [], { minAgeMs: 0 });
    expect(r.out).toBe('scans 300 0\n');
    expect(r.result.leaks).toBe(300);
  });

  it('midscan.c with the kernel for every scan: its scan floods all 80,000 blocks, the scratch grows the memory the same each run', async () => {
    process.env['KMEMLEAK_SCAN_KERNEL'] = 'on';
    try {
      const pages: string[] = [];
      for (let i = 0; i < 2; i++) {
        const r = await run(fixture('midscan.wasm'), [], { minAgeMs: 0 });
        pages.push(r.out);
        expect(r.result.leaks).toBe(100);
      }
      expect(pages[1]).toBe(pages[0]);
      const m = /^pages (\d+) (\d+), 0 new\n$/.exec(pages[0]!);
      expect(m, pages[0]).not.toBeNull();
      expect(Number(m![2])).toBeGreaterThan(Number(m![1]));
    } finally {
      delete process.env['KMEMLEAK_SCAN_KERNEL'];
    }
  });
});
