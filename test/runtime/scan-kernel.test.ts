/**
 * `kmemleak run` with the flood kernel forced on (KMEMLEAK_SCAN_KERNEL=on, any heap size) and off:
 * the same report (creation times aside), on the README's demo and the annotation fixture (scan areas,
 * no_scan, ignore, not_leak), with the kernel really running in the first case.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FloodSession } from '../../src/engine/kernel/flood-kernel.js';
import { example, fixture, run } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
  delete process.env['KMEMLEAK_SCAN_KERNEL'];
});

async function runWith(setting: 'on' | 'off', module: string, minAgeMs?: number): Promise<{ err: string; out: string; sessions: number }> {
  process.env['KMEMLEAK_SCAN_KERNEL'] = setting;
  const open = vi.spyOn(FloodSession, 'open');
  const r = await run(module, [], minAgeMs === undefined ? {} : { minAgeMs });
  const sessions = open.mock.results.filter((x) => x.type === 'return' && x.value !== null).length;
  open.mockRestore();
  return { err: r.err, out: r.out, sessions };
}

describe('kmemleak run: the flood kernel against the JavaScript flood', () => {
  for (const [name, module, minAge] of [
    ['examples/leaks.wasm', example('leaks.wasm'), undefined],
    ['annotate.wasm, with a scan while it runs', fixture('annotate.wasm'), 0],
  ] as const) {
    it(`${name}: the same output, and the kernel ran`, async () => {
      const on = await runWith('on', module, minAge);
      const off = await runWith('off', module, minAge);
      expect(on.sessions).toBeGreaterThan(0);
      expect(off.sessions).toBe(0);
      expect(on.out).toBe(off.out);
      // Creation times (jiffies) are the clock's: they differ from run to run.
      const untimed = (t: string): string => t.replace(/jiffies \d+/g, 'jiffies N');
      expect(untimed(on.err)).toBe(untimed(off.err));
      expect(on.err).toContain('unreferenced object');
    });
  }
});
