/**
 * Options that reach the other parts: --allocator (the rewriter), --source-map (the symbolizer),
 * --min-age and --scan (automatic scans driven from the allocation hooks).
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, reported, run, tempDir } from './helpers.js';
import { AutoScan } from '../../src/wasm/runtime/auto-scan.js';

const custom = fixture('custom.wasm');

describe('--allocator', () => {
  it('without it, an allocator under unknown names: the program runs untracked, one line at the end says what was tried and how to name it', async () => {
    const r = await run(custom);
    expect(r.result).toMatchObject({ status: 0, programStatus: 0, leaks: 0 });
    expect(r.err).toMatch(/^kmemleak: nothing was tracked: .*custom\.wasm: no allocator found: looked for malloc, .*; name them with --allocator malloc=NAME,free=NAME[^\n]*\n$/);
  });

  it('by name: the custom allocator\'s blocks are tracked', async () => {
    const r = await run(custom, [], { allocator: { malloc: 'my_alloc', free: 'my_release' } });
    expect(reported(r.err)).toEqual([{ size: 50, fns: ['make_lost', '_start'] }]);
  });

  it('by function index, and the allocator\'s own frames are hidden at the top', async () => {
    const r = await run(custom, [], { allocator: { malloc: 1, free: 2 } });
    expect(reported(r.err)).toEqual([{ size: 50, fns: ['make_lost', '_start'] }]);
  });

  it('a name that does not exist is one line', async () => {
    await expect(run(custom, [], { allocator: { malloc: 'nope', free: 'my_release' } })).rejects.toThrow(/--allocator malloc=nope: no function named 'nope'/);
  });
});

describe('--source-map', () => {
  it('frames get file:line from the map when the binary has no DWARF', async () => {
    const r = await run(custom, [], { allocator: { malloc: 'my_alloc', free: 'my_release' }, sourceMap: fixture('custom.map') });
    expect(r.err).toMatch(/^    make_lost\+0x3\/0x7 custom\.c:20\n    _start\+0x[0-9a-f]+\/0x8 custom\.c:40\n/m);
  });

  it.each([['not JSON', 'not json\n'], ['JSON without mappings', '{"version":3}'], ['a map of no wasm code', '{"version":3,"sources":[],"names":[],"mappings":""}']])(
    'a named file that is %s: one line, exit 2 (it was ignored in silence)', async (_what, text) => {
      const map = join(tempDir(), 'bad.map');
      writeFileSync(map, text);
      await expect(run(custom, [], { allocator: { malloc: 'my_alloc', free: 'my_release' }, sourceMap: map }))
        .rejects.toThrow(`--source-map: ${map}: not a source map of wasm code (no mapping on generated line 1, as emcc -gsource-map writes)`);
    });
});

describe('automatic scans (--scan, --first-scan, --min-age)', () => {
  it('AutoScan: first scan after the delay, then every period; off never scans', () => {
    let t = 0;
    let scans = 0;
    const a = new AutoScan(() => { scans++; }, 1000, 500, () => t);
    const tick = (n: number) => { for (let i = 0; i < n; i++) a.tick(); };
    tick(1000);
    expect(scans).toBe(0);
    t = 600; tick(300);
    expect(scans).toBe(1);
    t = 1200; tick(300);
    expect(scans).toBe(1);           // the period counts from the last scan
    t = 1700; tick(300);
    expect(scans).toBe(2);
    a.stop();
    t = 99999; tick(1000);
    expect(scans).toBe(2);
    a.start();                        // scan=on after scan=off: at the next check
    tick(256);
    expect(scans).toBe(3);
    a.setPeriod(0);                   // scan=0 stops
    t = 999999; tick(1000);
    expect(scans).toBe(3);
    a.setPeriod(10);                  // scan=SECS restarts with the new period
    tick(256);
    expect(scans).toBe(4);
    expect(a.period).toBe(10);
    const off = new AutoScan(() => { scans++; }, null, 0, () => t);
    for (let i = 0; i < 1000; i++) off.tick();
    expect(scans).toBe(4);
    expect(off.running).toBe(false);
    expect(off.period).toBe(600_000);   // what scan=on would use
  });

  it('a periodic scan while the program runs reports old-enough leaks with the summary line', async () => {
    // --scan 0.001 / --first-scan 0: due at once; the scan runs inside an allocation hook
    const r = await run(fixture('tool.wasm'), ['leak', '600'], { scanPeriodMs: 1, firstScanMs: 0, minAgeMs: 0 });
    const lines = r.err.split('\n').filter((l) => /new suspected memory leaks/.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(2);       // at least one periodic scan, then the exit scan
    expect(r.result.leaks).toBe(600);
  });

  it('the default minimum age keeps a periodic scan from reporting young objects', async () => {
    const r = await run(fixture('tool.wasm'), ['leak', '600'], { scanPeriodMs: 1, firstScanMs: 0 });
    const lines = r.err.split('\n').filter((l) => /new suspected memory leaks/.test(l));
    expect(lines).toEqual(['kmemleak: 600 new suspected memory leaks (see below)']);
  });
});
