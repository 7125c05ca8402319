/**
 * The README's demo (examples/leaks.wasm) and the annotation fixture under the real engine:
 * each kind of finding shows up, and nothing else does.
 */
import { describe, expect, it } from 'vitest';
import { example, fixture, reported, run } from './helpers.js';

describe('examples/leaks.wasm', () => {
  it('reports the plain leak, the whole list, the cycle; not the interior-referenced or not_leak blocks', async () => {
    const r = await run(example('leaks.wasm'));
    expect(r.out).toBe('leaks: done (config verbose=1, table t)\n');
    const objs = reported(r.err).map((o) => `${o.size}@${o.fns[0]}`).sort();
    expect(objs).toEqual(['100@make_greeting', '24@build_list', '24@build_list', '24@build_list', '40@make_cycle', '40@make_cycle']);
    expect(r.err).not.toMatch(/size (256|64|500|10)\)/);
    expect(r.result.status).toBe(23);
  });
});

describe('annotations (annotate.c through include/kmemleak.h)', () => {
  const expected = [21, 23, 27, 29, 31];

  it('each annotation has its kmemleak effect at exit', async () => {
    const r = await run(fixture('annotate.wasm'));
    expect(r.out).toBe('early scan: 0\n');           // young objects: not reported by a scan while running
    const objs = reported(r.err);
    expect(objs.map((o) => o.size)).toEqual(expected);
    expect(objs.find((o) => o.size === 23)!.fns[0]).toBe('retrace');    // update_trace
    expect(objs.find((o) => o.size === 21)!.fns[0]).toBe('pool_get');
  });

  it('kmemleak_scan() scans now and returns the new suspected leaks (--min-age 0)', async () => {
    const r = await run(fixture('annotate.wasm'), [], { minAgeMs: 0 });
    expect(r.out).toBe(`early scan: ${expected.length}\n`);
    expect(r.result).toMatchObject({ newLeaks: 0, leaks: expected.length, status: 23 });
  });
});

describe('early pool', () => {
  it('blocks from a start function are replayed and reported; comm "(start)"', async () => {
    const r = await run(fixture('early.wasm'));
    expect(reported(r.err)).toEqual([16, 24, 32].map((size) => ({ size, fns: ['early'] })));
    expect(r.err).toMatch(/comm "\(start\)", pid 1/);
  });

  it('--early-pool too small turns the detector off with a message naming the option', async () => {
    const r = await run(fixture('early.wasm'), [], { earlyPool: 2 });
    expect(r.err).toMatch(/^kmemleak: Early pool exceeded \(2 entries\), please increase --early-pool$/m);
    expect(r.result).toMatchObject({ leaks: 0, status: 0 });
  });
});
