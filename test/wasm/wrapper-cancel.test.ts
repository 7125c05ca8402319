/**
 * The wrappers cancel pairs in wasm (src/wasm/instrument/wrappers.ts, appendEvent): a free whose
 * block's allocation is still in the log's window, found through the recent-allocation table,
 * cancels it and is not logged; any other free is logged. Whatever the table held (collisions,
 * slots left from earlier windows, events taken back), the engine must end up with what the slow
 * path gives it: the same live blocks with the same sizes and contexts, and the same frees of
 * blocks it does not know, in order.
 *
 * random_pairs.wasm (test/fixtures/runtime) allocates blocks of random lifetimes through malloc,
 * calloc, realloc and free from two call sites each; its realloc(p, 0) takes the free hook (a
 * flush: a new window). The reference run takes every hook (nothing remembered).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { instrument } from '../../src/wasm/instrument/index.js';
import { outcome, runWasm, type Host } from './wrapper-host.js';

const wasm = new Uint8Array(readFileSync(fileURLToPath(new URL('../fixtures/runtime/random_pairs.wasm', import.meta.url))));
const ins = instrument(wasm);
const run = (args: string[], rememberAt: number): Host => runWasm(ins, 'random_pairs', args, rememberAt);
const logged = (h: Host): number => h.events.filter((e) => e.via === 'log').length;

describe('pairs cancelled by the wrappers', () => {
  // SLOTS: few (short lives, one window), many (blocks outlive windows; the heap passes the
  // table's 1 MiB span, so slots collide).
  // 40000 slots: a long phase that mostly allocates (barren windows: the table is switched off
  // for some, then on again), then one that frees.
  for (const [seed, steps, slots] of [[1, 30000, 8], [2, 40000, 200], [3, 40000, 3000], [4, 60000, 9000], [6, 200000, 40000]] as const) {
    it(`seed ${seed}, ${steps} steps over ${slots} slots: the engine gets what the hooks give it`, () => {
      const args = [String(seed), String(steps), String(slots)];
      const ref = run(args, 0);
      const fast = run(args, 1);
      expect(ref.events.every((e) => e.via === 'hook')).toBe(true);
      const want = outcome(ref.events);
      expect(want.live.length).toBeGreaterThan(0);
      expect(outcome(fast.events)).toEqual(want);
      // The start's two double frees (the second round's through the log) stay in the engine's view.
      expect(want.stray).toHaveLength(2);
      // Most events never left wasm: those of blocks freed within their window.
      if (slots <= 200) expect(logged(fast)).toBeLessThan(ref.events.length / 10);
    });
  }

  it('a block freed after its window was replayed is freed in the engine, not cancelled', () => {
    // 9000 slots: most blocks outlive the window, so most frees are logged and replayed.
    const fast = run(['5', '40000', '9000'], 1);
    const frees = fast.events.filter((e) => e.kind === 'F' && e.via === 'log').length;
    expect(frees).toBeGreaterThan(1000);
    expect(outcome(fast.events).stray).toHaveLength(2);
  });
});
