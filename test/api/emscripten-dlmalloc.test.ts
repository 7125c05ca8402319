/**
 * A normal Emscripten 3.1.6 build (JS glue + wasm, test/fixtures/emscripten/normal.*) through
 * kmemleak.emscripten(): its dlmalloc is neither exported nor named, and was not found (the
 * program ran without the detector: 0 of 3 leaks). leaks.c loses exactly 3 blocks (100, 200 and
 * 4000 bytes); the block kept in static data and the one it points to are not leaks.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { emscripten } from '../../src/api/index.js';

const em = (name: string): string => fileURLToPath(new URL(`../fixtures/emscripten/${name}`, import.meta.url));
const require = createRequire(import.meta.url);

describe('kmemleak.emscripten() on a normal Emscripten build', () => {
  it('finds the allocator and exactly the 3 leaks', async () => {
    const createLeaks = require(em('normal.cjs')) as (arg: object) => Promise<object>;
    const log: string[] = [];
    const out: string[] = [];
    const { kmemleak: k } = await emscripten(createLeaks, {
      wasm: readFileSync(em('normal.wasm')), minAgeMs: 0, scan: 'off', log: (l) => log.push(l),
      moduleArg: { print: (s: string) => out.push(s) },
    });
    expect(out).toEqual(['leaks: done']);
    expect([...k.allocators].sort()).toEqual(['free', 'malloc', 'realloc']);
    await k.scan();
    await k.scan();   // a block whose content changed since the last scan is greyed once (kmemleak's checksum pass)
    const leaks = k.leaks();
    expect(leaks.map((l) => l.size)).toEqual([100, 200, 4000]);
    expect(leaks[0]!.hex.startsWith('78 78 78')).toBe(true);
    expect(leaks[2]!.hex.startsWith('72 72 72')).toBe(true);
    expect(log.join('\n')).not.toMatch(/without the detector/);
  });
});
