/**
 * The wrappers' one-entry cache of known contexts (src/wasm/instrument/wrappers.ts), end to end:
 * with the fast path on, allocations and frees whose contexts alternate in one wrapper, and
 * contexts first seen unknown and known afterwards, must give the report the slow path gives
 * (KMEMLEAK_FAST_PATH=off: every event a hook call): the same leaks, each with its own exact
 * backtrace, and the same warnings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, reported, run } from './helpers.js';

// The prepare cache (runtime/prepare-cache.ts) is keyed by the binary and options, not by the
// rewriter's code: a warm entry would hold wrappers rewritten by an older version.
const savedCache = process.env['KMEMLEAK_CACHE'];
beforeAll(() => { process.env['KMEMLEAK_CACHE'] = 'off'; });
afterAll(() => {
  if (savedCache === undefined) delete process.env['KMEMLEAK_CACHE'];
  else process.env['KMEMLEAK_CACHE'] = savedCache;
});

/** The report without what legitimately differs: addresses (the log's block shifts the heap) and times. */
const norm = (text: string): string => text.replace(/0x[0-9a-f]{8}/g, 'ADDR').replace(/jiffies \d+/g, 'jiffies J');

async function both(module: string, args: string[]) {
  const fast = await run(fixture(module), args);
  const saved = process.env['KMEMLEAK_FAST_PATH'];
  process.env['KMEMLEAK_FAST_PATH'] = 'off';
  try {
    const slow = await run(fixture(module), args);
    return { fast, slow };
  } finally {
    if (saved === undefined) delete process.env['KMEMLEAK_FAST_PATH'];
    else process.env['KMEMLEAK_FAST_PATH'] = saved;
  }
}

describe('the wrappers\' context cache, fast path against slow path', () => {
  it('two allocation paths alternating in malloc\'s wrapper: each leak keeps its own backtrace', async () => {
    const args: string[] = [];
    for (let i = 0; i < 30; i++) args.push('leak', '1', 'churn', '3');
    const { fast, slow } = await both('tool.wasm', args);
    expect(fast.result.leaks).toBe(60);
    expect(norm(fast.err)).toBe(norm(slow.err));
    const objs = reported(fast.err);
    expect(objs).toHaveLength(60);
    // leak_one's blocks (10 bytes) and churn's last blocks (24 bytes) alternate in allocation
    // order; neither backtrace may show the other's path
    for (const o of objs) {
      if (o.size === 10) expect(o.fns.slice(0, 2)).toEqual(['leak_one', 'main']);
      else {
        expect(o.size).toBe(24);
        expect(o.fns.slice(0, 3)).toEqual(['churn_alloc', 'churn', 'main']);
      }
    }
    expect(objs.filter((o) => o.size === 10)).toHaveLength(30);
    // one stack capture per distinct context, not per event
    expect(fast.result.captures).toBeLessThan(20);
  });

  it('two free paths alternating in free\'s wrapper: each double free warned with the second free\'s backtrace', async () => {
    const { fast, slow } = await both('tool.wasm', ['dfree2', '40', 'leak', '2', 'dfree2', '40']);
    expect(norm(fast.err)).toBe(norm(slow.err));
    expect(fast.err.match(/^kmemleak: Freeing unknown object at 0x[0-9a-f]{8}\n    free_twice\+/gm)).toHaveLength(80);
    expect(fast.result.leaks).toBe(2);
  });

  it('a context met first unknown, later known: the same leaks and backtraces as every-hook', async () => {
    // leak_one's context is unknown at its first call (the hook captures it), known after
    const { fast, slow } = await both('tool.wasm', ['leak', '1', 'churn', '5', 'leak', '300']);
    expect(fast.result.leaks).toBe(302);
    expect(norm(fast.err)).toBe(norm(slow.err));
    expect(reported(fast.err).filter((o) => o.fns[0] === 'leak_one')).toHaveLength(301);
  });

  it('distinct paths and recursion (each context met once) report as before', async () => {
    const { fast, slow } = await both('paths.wasm', []);
    expect(norm(fast.err)).toBe(norm(slow.err));
    expect(fast.result.leaks).toBe(25);
  });
});
