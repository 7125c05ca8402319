/**
 * The prepare cache (src/wasm/runtime/prepare-cache.ts): a second run of the same binary reuses
 * the rewritten module and layout from disk and reports exactly what the first run reported; a
 * corrupt or truncated entry is a miss, never an error; KMEMLEAK_CACHE=off writes nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, run } from './helpers.js';
import { CACHE_VERSION, checksum } from '../../src/wasm/runtime/prepare-cache.js';

const norm = (text: string): string => text.replace(/jiffies \d+/g, 'jiffies J');
let dir = '';
const saved = { dir: process.env['KMEMLEAK_CACHE_DIR'], off: process.env['KMEMLEAK_CACHE'] };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kml-cache-'));
  process.env['KMEMLEAK_CACHE_DIR'] = dir;
  delete process.env['KMEMLEAK_CACHE'];
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  if (saved.dir === undefined) delete process.env['KMEMLEAK_CACHE_DIR']; else process.env['KMEMLEAK_CACHE_DIR'] = saved.dir;
  if (saved.off === undefined) delete process.env['KMEMLEAK_CACHE']; else process.env['KMEMLEAK_CACHE'] = saved.off;
});

const entries = (): string[] => readdirSync(dir).filter((f) => f.endsWith('.kml'));

describe('the prepare cache', () => {
  it('a second run of the same binary comes from the cache and reports the same', async () => {
    const first = await run(fixture('tool.wasm'), ['leak', '3', 'churn', '500']);
    expect(entries()).toHaveLength(1);
    const second = await run(fixture('tool.wasm'), ['leak', '3', 'churn', '500']);
    expect(entries()).toHaveLength(1);
    expect(second.result.leaks).toBe(4);
    expect(norm(second.err)).toBe(norm(first.err));
  });

  it('options that change the rewrite get their own entry', async () => {
    await run(fixture('tool.wasm'), ['leak', '1']);
    await run(fixture('tool.wasm'), ['leak', '1'], { callingContext: false });
    expect(entries()).toHaveLength(2);
  });

  it('an entry others could have written is a miss (it is code we would run), then replaced', async () => {
    const first = await run(fixture('tool.wasm'), ['leak', '2']);
    const [name] = entries();
    const file = join(dir, name!);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    chmodSync(file, 0o666);
    const again = await run(fixture('tool.wasm'), ['leak', '2']);
    expect(norm(again.err)).toBe(norm(first.err));
    // A hit leaves the file alone; the miss rewrote it, private again.
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('a corrupt or truncated entry is a miss, and the run is the same', async () => {
    const first = await run(fixture('tool.wasm'), ['leak', '2']);
    const [name] = entries();
    const file = join(dir, name!);
    const good = readFileSync(file);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 200] ^= 0x01;   // one bit, deep in the rewritten binary
    for (const bad of [good.subarray(0, good.length >> 1), flipped, Buffer.from('KMLC3\n\xff\xff\xff\xff')]) {
      writeFileSync(file, bad);
      const again = await run(fixture('tool.wasm'), ['leak', '2']);
      expect(again.result.status).toBe(first.result.status);
      expect(norm(again.err)).toBe(norm(first.err));
    }
  });

  it('an entry whose checksum holds but whose module does not compile is a miss, then replaced', async () => {
    const first = await run(fixture('tool.wasm'), ['leak', '2']);
    const [name] = entries();
    const file = join(dir, name!);
    const good = readFileSync(file);
    const bad = Buffer.from(good);
    // The rewritten module's magic (its chunk follows the JSON head): not wasm, checksum redone.
    const at = bad.indexOf(Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
    expect(at).toBeGreaterThan(0);
    bad[at + 1] = 0x62;
    const from = CACHE_VERSION.length + 1 + 8;
    Buffer.from(checksum(bad, from)).copy(bad, from - 8);
    writeFileSync(file, bad, { mode: 0o600 });
    const again = await run(fixture('tool.wasm'), ['leak', '2']);
    expect(again.result.status).toBe(first.result.status);
    expect(norm(again.err)).toBe(norm(first.err));
    expect(readFileSync(file).equals(good)).toBe(true);
  });

  it('KMEMLEAK_CACHE=off writes nothing', async () => {
    process.env['KMEMLEAK_CACHE'] = 'off';
    await run(fixture('tool.wasm'), ['leak', '1']);
    expect(entries()).toHaveLength(0);
  });
});
