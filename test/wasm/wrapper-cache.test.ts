/**
 * The wrappers' one-entry cache of known() (src/wasm/instrument/wrappers.ts): a wrapper reuses the
 * handle of the last context the known-context table answered, and never remembers a miss.
 *
 * Why here: the runtime tests compare whole reports; these drive the rewritten module with a
 * small host of their own (wrapper-host.ts), so they can see which events took the hook, which
 * went through the log, and with which handle. The reference run is the
 * same program with the log set up but the table left empty: every event takes its hook, and the
 * heap is laid out the same (the log's block comes from the same malloc call).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { instrument } from '../../src/wasm/instrument/index.js';
import { fixture } from './helpers.js';
import { Host, liveAllocs, outcome, runWasm, type Ev } from './wrapper-host.js';

const tool = new Uint8Array(readFileSync(fileURLToPath(new URL('../fixtures/runtime/tool.wasm', import.meta.url))));
const runTool = (args: string[], rememberAt: number): Host => runWasm(instrument(tool), 'tool', args, rememberAt);

describe('the wrappers\' one-entry cache of known contexts', () => {
  it('alternating allocation paths: every logged block carries its own context\'s handle', () => {
    const args: string[] = [];
    for (let i = 0; i < 40; i++) args.push('leak', '1', 'churn', '2');
    const ref = runTool(args, 0);
    const fast = runTool(args, 1);
    expect(ref.events.every((e) => e.via === 'hook')).toBe(true);
    expect(outcome(fast.events)).toEqual(outcome(ref.events));
    // Three contexts alternate in malloc's wrapper: leak_one's (10 bytes, leaks), churn's pairs
    // (24 bytes, freed at once: the log cancels them in wasm) and churn's last block (leaks).
    const allocs = fast.events.filter((e) => e.kind === 'A' && (e.size === 10 || e.size === 24));
    const allocCtx = new Set(allocs.map((e) => e.ctx));
    expect(allocCtx.size).toBe(3);
    for (const ctx of allocCtx) expect(fast.hookCalls.get(ctx)).toBe(1);
    const leaked = liveAllocs(fast.events).filter((e) => e.size === 10 || e.size === 24);
    expect(leaked).toHaveLength(80);
    const leakedCtx = new Set(leaked.map((e) => e.ctx));
    expect(leakedCtx.size).toBe(2);
    // after its first call (the hook), each leaking context's blocks came through the log
    for (const ctx of leakedCtx) {
      expect(leaked.filter((e) => e.ctx === ctx).map((e) => e.via)).toEqual(['hook', ...Array(39).fill('log')]);
    }
  });

  it('alternating free paths (a double free from a second call site) keep their own handles', () => {
    const ref = runTool(['dfree2', '50'], 0);
    const fast = runTool(['dfree2', '50'], 1);
    const want = outcome(ref.events);
    expect(want.stray).toHaveLength(50);
    expect(outcome(fast.events)).toEqual(want);
    // free_twice's two frees alternate in free's wrapper: the first cancels the block's logged
    // allocation in wasm, the second (a double free) is logged with its own context
    const firstFree = ref.events.find((e) => e.kind === 'F')!.ctx;
    const strays = fast.events.filter((e) => e.kind === 'F' && e.via === 'log');
    expect(strays).toHaveLength(49);
    expect(strays.every((e) => e.ctx !== firstFree && e.ctx === strays[0]!.ctx)).toBe(true);
    expect(fast.hookCalls.get(firstFree)).toBe(1);
    expect(fast.hookCalls.get(strays[0]!.ctx)).toBe(1);
  });

  it('a context unknown for its first calls takes the hook each time, then the log', () => {
    const ref = runTool(['leak', '12'], 0);
    const fast = runTool(['leak', '12'], 3);
    expect(outcome(fast.events)).toEqual(outcome(ref.events));
    const leaks = fast.events.filter((e) => e.kind === 'A' && e.size === 10);
    expect(leaks).toHaveLength(12);
    // a miss (-1) is never cached: the hook keeps coming until the host stores the context
    expect(leaks.map((e) => e.via)).toEqual([...Array(3).fill('hook'), ...Array(9).fill('log')]);
    expect(fast.hookCalls.get(leaks[0]!.ctx)).toBe(3);
    expect(new Set(leaks.map((e) => e.ctx)).size).toBe(1);
  });

  it('pairs cancelled in wasm still use up the batch: a malloc/free loop reaches the flush hook', () => {
    // 200000 pairs = 400000 events, every pair cancelled in place: the log stays empty, yet the
    // host must get its safe point (automatic scans, the control file) once per batch.
    const fast = runTool(['churn', '200000'], 1);
    expect(fast.flushes).toBeGreaterThanOrEqual(Math.floor(400_000 / 16_384));
    const leaked = liveAllocs(fast.events).filter((e) => e.size === 24);
    expect(leaked).toHaveLength(1);   // churn's last block, the only one not freed
  });

  it('context 0 (an allocator called from the host) always takes the hook, whatever the cache holds', () => {
    // features.wasm's bump allocator cannot give the log its block: the host takes fresh pages.
    const ins = instrument(fixture('features.wasm'));
    const host = new Host(ins, 1, (inst) => (n) => {
      const mem = inst.exports[ins.exports.memory] as WebAssembly.Memory;
      return mem.grow(Math.ceil(n / 65536)) * 65536;
    });
    let malloc = (_n: number): number => 0;
    let reentered: Ev[] = [];
    host.instance = new WebAssembly.Instance(new WebAssembly.Module(ins.binary), {
      env: {
        // run -> imported -> malloc, twice: one context (the import's call site) seen twice
        imported: (x: number) => {
          const from = host.events.length;
          malloc(4);
          malloc(4);
          host.log!.flush();
          reentered = host.events.slice(from);
          return x * 2;
        },
        g_imported: new WebAssembly.Global({ value: 'i32' }, 11),
      },
      [ins.hookModule]: { ...host.hooks(), realloc: () => {} },
    } as unknown as WebAssembly.Imports);
    malloc = host.instance.exports['malloc'] as (n: number) => number;
    for (let i = 0; i < 3; i++) malloc(8);     // the cache's initial pair (0, -1)
    (host.instance.exports['run'] as () => number)();
    // the second re-entered malloc hit the table, so malloc's cache now holds that context
    expect(reentered.map((e) => e.via)).toEqual(['hook', 'log']);
    expect(reentered[0]!.ctx).not.toBe(0n);
    expect(reentered[1]!.ctx).toBe(reentered[0]!.ctx);
    for (let i = 0; i < 3; i++) malloc(8);
    host.log!.flush();
    const fromHost = host.events.filter((e) => e.ctx === 0n);
    expect(fromHost).toHaveLength(6);
    expect(fromHost.every((e) => e.via === 'hook' && e.size === 8)).toBe(true);
  });
});
