/**
 * The rewriter's hook contract (src/wasm/instrument/wrappers.ts) mapped to engine calls, with a
 * recording engine: alloc -> kmemleak_alloc(min_count 1), free -> kmemleak_free, realloc -> free
 * of the old block (unless NULL) then alloc of the new; traces cached per calling-context key;
 * warnings raised inside a hook carry one backtrace.
 */
import { describe, expect, it } from 'vitest';
import { AllocatorFrames, Backtraces } from '../../src/wasm/runtime/backtraces.js';
import { HookWiring } from '../../src/wasm/runtime/hooks.js';
import { FakeEngine } from './fake-engine.js';

function wire(keyed: boolean) {
  const k = new FakeEngine();
  const traces = new Backtraces(k.depot, null, new AllocatorFrames(null));
  let ticks = 0;
  let out = '';
  const w = new HookWiring(k, traces, keyed, () => { ticks++; }, (t) => { out += t; },
    () => [{ function: 'caller', offset: 4, size: 16, funcIndex: 3 }]);
  const h = w.imports(['alloc', 'free', 'realloc']);
  return { k, traces, w, h, ticks: () => ticks, out: () => out };
}

describe('hook imports', () => {
  it('map alloc, free and realloc to the engine, unsigned, ticking the scan clock', () => {
    const { k, h, ticks } = wire(true);
    h['alloc']!(0x1000, 16, 1, 0);
    h['alloc']!(-16, 8, 2, 0);                  // a pointer above 2 GiB arrives negative
    h['free']!(0x1000);
    h['realloc']!(0, 0x2000, 32, 1, 0);         // realloc(NULL, n): just an allocation
    h['realloc']!(0x2000, 0x3000, 64, 1, 0);    // moved: old gone, new tracked
    h['realloc']!(0x3000, 0x3000, 80, 1, 0);    // in place: same address, new size
    expect(k.calls.map((c) => c.slice(0, 4))).toEqual([
      ['alloc', 0x1000, 16, 1], ['alloc', 0xfffffff0, 8, 1], ['free', 0x1000, 0],
      ['alloc', 0x2000, 32, 1],
      ['free', 0x2000, 0], ['alloc', 0x3000, 64, 1],
      ['free', 0x3000, 0], ['alloc', 0x3000, 80, 1],
    ]);
    expect(ticks()).toBe(6);
  });

  it('one capture per calling-context key', () => {
    const { k, h, traces } = wire(true);
    for (let i = 0; i < 10; i++) h['alloc']!(0x1000 + 16 * i, 16, 7, 9);
    h['alloc']!(0x5000, 16, 8, 9);
    expect(traces.captures).toBe(2);
    const handles = k.calls.map((c) => c[4]);
    expect(new Set(handles.slice(0, 10)).size).toBe(1);
  });

  it('without keys every allocation captures', () => {
    const { h, traces } = wire(false);
    for (let i = 0; i < 5; i++) h['alloc']!(0x1000 + 16 * i, 16, 0, 0);
    expect(traces.captures).toBe(5);
  });

  it('a warning inside a hook gets the caller\'s backtrace once; outside a hook none', () => {
    const { w, out } = wire(true);
    w.enter();
    w.log('kmemleak: Freeing unknown object at 0x00001000');
    w.log('kmemleak: another line of the same warning');
    w.leave();
    w.log('kmemleak: 1 new suspected memory leaks (see below)');
    expect(out()).toBe('kmemleak: Freeing unknown object at 0x00001000\n    caller+0x4/0x10\n' +
      'kmemleak: another line of the same warning\nkmemleak: 1 new suspected memory leaks (see below)\n');
  });

  it('refuses a hook name it does not know (a contract mismatch with the rewriter)', () => {
    expect(() => wire(true).w.imports(['alloc', 'mystery'])).toThrow(/unknown hook import 'mystery'/);
  });
});
