// Sites, kinds, suppressions and baselines together (src/triage/triage.ts) on engine heaps,
// with a property test: for reported objects, direct + indirect = objects and site retained bytes
// sum to the reported bytes, whatever is suppressed.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { Frame } from '../../src/symbolize/frame.js';
import { siteKey } from '../../src/triage/sites.js';
import { parseSuppressions } from '../../src/triage/suppressions.js';
import { triage } from '../../src/triage/triage.js';
import { world, type World } from '../engine/harness.js';

const BASE = 0x1000;
const addr = (i: number): number => BASE + i * 64;
const FUNCS = ['alpha', 'beta', 'gamma', 'delta'];

/** Trace handle t (1..4) is the backtrace [FUNCS[t-1] in f.c, main in main.c]; offsets vary by handle. */
function setup(): { w: World; handle: (site: number, variant?: number) => number; describe: (h: number) => Frame[] } {
  const w = world({}, 1 << 16);
  const frames = new Map<number, Frame[]>();
  const handle = (site: number, variant = 0): number => {
    const h = w.k.depot.save(new Uint32Array([site + 1, 100 + variant, 9, 200]), 4);
    frames.set(h, [
      { function: FUNCS[site]!, offset: variant, size: 64, file: 'f.c', line: 10 + variant, funcIndex: site + 1 },
      { function: 'main', offset: 3, size: 90, file: 'main.c', line: 5, funcIndex: 9 },
    ]);
    return h;
  };
  return { w, handle, describe: (h) => frames.get(h) ?? [] };
}

describe('triage', () => {
  test('1000 objects from one site (two call offsets) are one site, ordered by retained bytes', () => {
    const { w, handle, describe: d } = setup();
    for (let i = 0; i < 1000; i++) w.k.alloc(addr(i), 16, 1, handle(0, i & 1));
    w.k.alloc(addr(1000), 40, 1, handle(1));
    w.k.exitScan();
    const t = triage(w.k.leakGraph(), d);
    expect(t.sites.map((s) => [s.title, s.objects, s.bytes, s.direct, s.indirect, s.retained])).toEqual([
      ['memory leak in alpha', 1000, 16000, 1000, 0, 16000],
      ['memory leak in beta', 1, 40, 1, 0, 40],
    ]);
    expect(t.summary).toMatchObject({ objects: 1001, bytes: 16040, sites: 2, direct: 1001, indirect: 0 });
    expect(t.newObjects).toBe(1001);
  });

  test('a suppressed owner hides what it reaches (LSan); the table counts what the pattern matched', () => {
    const { w, handle, describe: d } = setup();
    w.k.alloc(addr(0), 32, 1, handle(0));   // alpha -> beta
    w.k.alloc(addr(1), 32, 1, handle(1));
    w.k.alloc(addr(2), 8, 1, handle(2));    // gamma, on its own
    w.put32(addr(0), addr(1));
    w.k.exitScan();
    const t = triage(w.k.leakGraph(), d, { suppressions: parseSuppressions('leak:alph*\nleak:nothing\n', 's') });
    expect(t.used).toEqual([{ pattern: 'alph*', source: 's', line: 1, count: 1, bytes: 32 }]);
    expect(t.summary).toMatchObject({ objects: 1, bytes: 8, suppressed: { objects: 2, bytes: 64 } });
    expect(t.sites.map((s) => [s.title, s.suppressed])).toEqual([
      ['memory leak in gamma', null],
      ['memory leak in alpha', 'alph*'],
      ['memory leak in beta', 'alph*'],   // suppressed because alpha's object reaches it
    ]);
    expect([...t.reported]).toEqual([0, 0, 1]);
  });

  test('baseline sites come after new ones and do not count as new', () => {
    const { w, handle, describe: d } = setup();
    w.k.alloc(addr(0), 500, 1, handle(0));
    w.k.alloc(addr(10), 8, 1, handle(1));
    w.k.exitScan();
    const t = triage(w.k.leakGraph(), d, { baseline: new Set([siteKey(d(handle(0, 7)))]) });
    expect(t.sites.map((s) => [s.title, s.baseline])).toEqual([['memory leak in beta', false], ['memory leak in alpha', true]]);
    expect(t.newObjects).toBe(1);
    expect(t.summary.baseline).toEqual({ objects: 1, bytes: 500, sites: 1 });
  });

  test('property: reported direct + indirect = objects; retained adds up to reported bytes', () => {
    const arb = fc.integer({ min: 1, max: 14 }).chain((n) => fc.record({
      site: fc.array(fc.nat(3), { minLength: n, maxLength: n }),
      sizes: fc.array(fc.integer({ min: 4, max: 64 }), { minLength: n, maxLength: n }),
      ptrs: fc.array(fc.record({ from: fc.nat(n - 1), to: fc.nat(n - 1), word: fc.nat(15) }), { maxLength: 3 * n }),
      supp: fc.subarray(FUNCS),
    }));
    fc.assert(fc.property(arb, ({ site, sizes, ptrs, supp }) => {
      const { w, handle, describe: d } = setup();
      site.forEach((s, i) => w.k.alloc(addr(i), sizes[i]!, 1, handle(s, i % 3)));
      for (const p of ptrs) if (4 * p.word + 4 <= sizes[p.from]!) w.put32(addr(p.from) + 4 * p.word, addr(p.to));
      w.k.exitScan();
      const g = w.k.leakGraph();
      const t = triage(g, d, { suppressions: parseSuppressions(supp.map((f) => `leak:^${f}$`).join('\n'), 's') });
      const s = t.summary;
      expect(s.direct + s.indirect).toBe(s.objects);
      expect(s.objects + s.suppressed.objects).toBe(g.n);
      expect(s.bytes + s.suppressed.bytes).toBe(sizes.reduce((a, b) => a + b, 0));
      const shown = t.sites.filter((x) => x.suppressed === null);
      expect(shown.reduce((a, x) => a + x.retained, 0)).toBe(s.bytes);
      expect(shown.reduce((a, x) => a + x.objects, 0)).toBe(s.objects);
      expect(shown.reduce((a, x) => a + x.direct + x.indirect, 0)).toBe(s.objects);
      t.sites.forEach((x, k) => expect(x.id).toBe(k));
      for (let i = 0; i < g.n; i++) if (t.reported[i]) expect(supp).not.toContain(FUNCS[site[i]!]);
    }), { numRuns: 300 });
  });
});
