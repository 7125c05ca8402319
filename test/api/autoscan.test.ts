/**
 * Automatic scans through the API (--scan / --first-scan semantics): the engine's timer fires on
 * the event loop, the scan is vetoed while wasm frames are live, and the
 * "kmemleak: N new suspected memory leaks" line is logged. Waits are bounded; nothing is timed.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { instantiate } from '../../src/api/index.js';

const bytes = fs.readFileSync(path.join(__dirname, 'fixtures', 'leaky.wasm'));

async function until(cond: () => boolean, ms = 15_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

describe('automatic scans', () => {
  it('run on their own and log the new-leaks line', async () => {
    const log: string[] = [];
    const h = await instantiate(bytes, { host: { callback: () => {} } }, { minAgeMs: 0, scan: 1, firstScan: 0, log: (l) => log.push(l) });
    const ex = h.exports as unknown as { _initialize(): void; leak(n: number, s: number): void };
    ex._initialize();
    ex.leak(2, 48);
    expect(await until(() => log.some((l) => /^kmemleak: 2 new suspected memory leaks/.test(l)))).toBe(true);
    expect(h.leaks().map((l) => l.size)).toEqual([48, 48]);
    expect(h.write('scan=off')).toBe('');
    await h.close();
  });

  it('scan=SECS through write() starts them; scan=off stops them', async () => {
    const log: string[] = [];
    // As in kmemleak, the first start of the scan thread waits --first-scan (0 here).
    const h = await instantiate(bytes, { host: { callback: () => {} } }, { minAgeMs: 0, scan: 'off', firstScan: 0, log: (l) => log.push(l) });
    const ex = h.exports as unknown as { _initialize(): void; leak(n: number, s: number): void };
    ex._initialize();
    ex.leak(1, 8);
    expect(h.engine.autoScan).toBe(false);
    expect(h.write('scan=1')).toBe('');
    expect(h.engine.autoScan).toBe(true);
    expect(await until(() => log.some((l) => /new suspected memory leaks/.test(l)))).toBe(true);
    expect(h.write('scan=off')).toBe('');
    expect(h.engine.autoScan).toBe(false);
    await h.close();
  });
});
