// The site model (SPEC §7): identity by shown frames' function and file, titles, grouping.
import { describe, expect, test } from 'vitest';
import { groupByTrace, siteKey, siteTitle } from '../../src/triage/sites.js';
import type { Frame } from '../../src/symbolize/frame.js';

const f = (fn: string | null, file?: string, offset = 0, funcIndex = 7): Frame => ({ function: fn, offset, size: 64, funcIndex, ...(file ? { file, line: offset } : {}) });

describe('site identity', () => {
  test('offsets and lines do not matter; functions and files do', () => {
    expect(siteKey([f('a', 'x.c', 4), f('main', 'm.c', 9)])).toBe(siteKey([f('a', 'x.c', 12), f('main', 'm.c', 30)]));
    expect(siteKey([f('a', 'x.c')])).not.toBe(siteKey([f('a', 'y.c')]));
    expect(siteKey([f('a')])).not.toBe(siteKey([f('a'), f('main')]));
    expect(siteKey([f(null, undefined, 0, 3)])).toBe('wasm-function[3]\t');
  });

  test('title: memory leak in the first shown frame', () => {
    expect(siteTitle([f('make_greeting', 'leaks.c'), f('main')])).toBe('memory leak in make_greeting');
    expect(siteTitle([f(null, undefined, 0, 12)])).toBe('memory leak in wasm-function[12]');
    expect(siteTitle([])).toBe('memory leak in ?');
  });
});

describe('groupByTrace', () => {
  test('objects in allocation order -> sites in order of first object; describe once per handle', () => {
    const traces: Record<number, Frame[]> = { 1: [f('a', 'x.c', 1)], 2: [f('b')], 3: [f('a', 'x.c', 9)] };
    const calls: number[] = [];
    const g = groupByTrace(new Uint32Array([2, 1, 3, 1, 2, 3]), 6, (h) => { calls.push(h); return traces[h]!; });
    expect([...g.siteOf]).toEqual([0, 1, 1, 1, 0, 1]);   // handles 1 and 3 differ only by offset
    expect(g.first).toEqual([0, 1]);
    expect(g.frames[1]![0]!.offset).toBe(1);            // the first object's own frames
    expect(calls.sort()).toEqual([1, 2, 3]);
  });
});
