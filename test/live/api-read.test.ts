/**
 * The embedding API's read() never waits for the program (issue 14, point 2): called from an
 * import while wasm frames are live (a scan asked for there is deferred to the outermost
 * return), it answers at once with the report as of the last scan.
 */
import { expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { instantiate, type KmemleakHandle } from '../../src/api/index.js';

const bytes = readFileSync(fileURLToPath(new URL('../api/fixtures/leaky.wasm', import.meta.url)));

it('read() inside a host call answers with the last scan\'s report, while a scan waits for the return', async () => {
  let h!: KmemleakHandle;
  const seen: string[] = [];
  let pending: Promise<number> | null = null;
  h = await instantiate(bytes, { host: { callback: () => {
    pending = h.scan();                   // deferred: wasm frames are live
    seen.push(h.read());                  // at once, from the last scan's result
  } } }, { minAgeMs: 0, scan: 'off', log: () => {} });
  const ex = h.exports as unknown as { _initialize(): void; leak(n: number, s: number): void; with_callback(s: number): number };
  ex._initialize();
  ex.leak(2, 40);
  await h.scan();
  await h.scan();                         // kmemleak's rule: reported by the second scan
  const before = h.read();
  expect(before.match(/^unreferenced object/gm)).toHaveLength(2);
  ex.with_callback(24);
  expect(seen).toEqual([before]);
  expect(pending).not.toBeNull();
  await pending;
});
