/**
 * The cache's directory and bound (src/wasm/runtime/cache-dir.ts, issue 12): a directory that
 * cannot be made is no cache (not a loop: Node's recursive mkdir spins forever under /proc), and
 * the cache stays under its size by removing the least recently used entries, a hit counting as a use.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheMaxBytes, DEFAULT_CACHE_MAX_MB, makeCacheDir, pruneCache } from '../../src/wasm/runtime/cache-dir.js';
import { fixture, run } from './helpers.js';

const saved = { dir: process.env['KMEMLEAK_CACHE_DIR'], off: process.env['KMEMLEAK_CACHE'], max: process.env['KMEMLEAK_CACHE_MAX_MB'] };
let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kml-cachedir-'));
  delete process.env['KMEMLEAK_CACHE'];
  delete process.env['KMEMLEAK_CACHE_MAX_MB'];
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const [k, v] of [['KMEMLEAK_CACHE_DIR', saved.dir], ['KMEMLEAK_CACHE', saved.off], ['KMEMLEAK_CACHE_MAX_MB', saved.max]] as const) {
    if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
});

const norm = (text: string): string => text.replace(/jiffies \d+/g, 'jiffies J');
/** A file of `size` bytes last used `age` seconds ago. */
function file(name: string, size: number, age: number): string {
  const p = join(dir, name);
  writeFileSync(p, Buffer.alloc(size));
  const t = new Date(Date.now() - age * 1000);
  utimesSync(p, t, t);
  return p;
}

describe('the cache directory', () => {
  it('is made with its missing parents, private', () => {
    const deep = join(dir, 'a', 'b', 'c');
    expect(makeCacheDir(deep)).toBe(true);
    expect(statSync(deep).isDirectory()).toBe(true);
    expect(statSync(deep).mode & 0o777).toBe(0o700);
    expect(makeCacheDir(deep)).toBe(true);   // already there
  });

  it('cannot be made under /proc or under a file: false at once, no loop', () => {
    expect(existsSync('/proc/self'), 'this test needs Linux /proc').toBe(true);
    expect(makeCacheDir('/proc/nonexistent')).toBe(false);
    expect(makeCacheDir('/proc/nonexistent/a/b')).toBe(false);
    writeFileSync(join(dir, 'plain'), 'x');
    expect(makeCacheDir(join(dir, 'plain', 'sub'))).toBe(false);
  });

  it('KMEMLEAK_CACHE_DIR=/proc/nonexistent: the run works without a cache, saying nothing more', async () => {
    process.env['KMEMLEAK_CACHE'] = 'off';
    const plain = await run(fixture('tool.wasm'), ['leak', '2']);
    delete process.env['KMEMLEAK_CACHE'];
    process.env['KMEMLEAK_CACHE_DIR'] = '/proc/nonexistent';
    const t0 = Date.now();
    const r = await run(fixture('tool.wasm'), ['leak', '2']);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(r.result.status).toBe(plain.result.status);
    expect(norm(r.err)).toBe(norm(plain.err));
  });
});

describe('the cache bound (least recently used out)', () => {
  it('removes the oldest entries until the total fits, sparing the new one and files not ours', () => {
    const old = file('a.kml', 4000, 300);
    const mid = file('b.kml', 4000, 200);
    const v8 = file('cli-v20-1-2-3.v8', 4000, 250);
    const recent = file('c.kml', 4000, 100);
    const fresh = file('d.kml', 4000, 400);   // just written, though its mtime says otherwise
    const other = file('notes.txt', 50_000, 1000);
    const staleTmp = file('e.kml.123.tmp', 100, 7200);
    const liveTmp = file('f.kml.456.tmp', 100, 10);
    expect(pruneCache(dir, 12_000, fresh)).toBe(12_000);
    expect([old, v8, staleTmp].map(existsSync)).toEqual([false, false, false]);
    expect([mid, recent, fresh, other, liveTmp].map(existsSync)).toEqual([true, true, true, true, true]);
  });

  it('a directory under the bound is left alone', () => {
    file('a.kml', 1000, 10);
    file('b.kml', 1000, 20);
    expect(pruneCache(dir, 2000)).toBe(2000);
    expect(readdirSync(dir).sort()).toEqual(['a.kml', 'b.kml']);
  });

  it('KMEMLEAK_CACHE_MAX_MB sets the bound; nonsense keeps the default', () => {
    expect(cacheMaxBytes({})).toBe(DEFAULT_CACHE_MAX_MB * 1024 * 1024);
    expect(cacheMaxBytes({ KMEMLEAK_CACHE_MAX_MB: '2' })).toBe(2 * 1024 * 1024);
    expect(cacheMaxBytes({ KMEMLEAK_CACHE_MAX_MB: 'lots' })).toBe(DEFAULT_CACHE_MAX_MB * 1024 * 1024);
    expect(cacheMaxBytes({ KMEMLEAK_CACHE_MAX_MB: '-1' })).toBe(DEFAULT_CACHE_MAX_MB * 1024 * 1024);
  });

  it('end to end: a hit refreshes its entry; writing past the bound drops the least recently used', async () => {
    process.env['KMEMLEAK_CACHE_DIR'] = dir;
    const entries = (): string[] => readdirSync(dir).filter((f) => f.endsWith('.kml')).sort();
    await run(fixture('tool.wasm'), ['leak', '1']);
    const [first] = entries();
    const firstPath = join(dir, first!);
    const size = statSync(firstPath).size;
    const longAgo = new Date(Date.now() - 3600_000);
    utimesSync(firstPath, longAgo, longAgo);
    await run(fixture('tool.wasm'), ['leak', '1']);                 // a hit
    expect(Date.now() - statSync(firstPath).mtimeMs).toBeLessThan(60_000);
    expect(size).toBeGreaterThan(0);
    // A bound of 0: a new entry is kept, every other one goes.
    process.env['KMEMLEAK_CACHE_MAX_MB'] = '0';
    await run(fixture('recursive.wasm'), ['50']);                              // a second entry: over the bound
    const left = entries();
    expect(left).toHaveLength(1);
    expect(left[0]).not.toBe(first);
    mkdirSync(join(dir, 'sub.kml'));                                 // a directory is never removed
    await run(fixture('tool.wasm'), ['leak', '1']);
    expect(existsSync(join(dir, 'sub.kml'))).toBe(true);
  });
});
