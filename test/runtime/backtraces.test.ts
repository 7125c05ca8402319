/**
 * Backtraces through the calling-context cache (paths.c): the same allocation site reached along
 * different call paths, two call sites in one function, and recursion each get their own trace;
 * the stack is captured once per distinct context; without calling-context instrumentation every
 * allocation captures, with the same traces.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { example, fixture, run, tempDir } from './helpers.js';

interface JFrame { function: string | null; offset: number; file?: string; line?: number }
interface JLeak { size: number; backtrace: JFrame[] }

async function leaks(module: string, args: string[] = [], callingContext = true): Promise<{ leaks: JLeak[]; captures: number; contexts: number }> {
  const json = join(tempDir(), 'r.json');
  const r = await run(module, args, { json, callingContext });
  return { leaks: (JSON.parse(readFileSync(json, 'utf8')) as { leaks: JLeak[] }).leaks, captures: r.result.captures, contexts: r.result.contexts };
}

const key = (l: JLeak): string => l.backtrace.map((f) => `${f.function}+${f.offset}`).join('<');
const names = (l: JLeak): Array<string | null> => l.backtrace.map((f) => f.function);
const RECURSE_DEPTH = 20;

describe('backtraces', () => {
  it('different call paths to one allocation site never share a backtrace', async () => {
    const { leaks: ls } = await leaks(fixture('paths.wasm'));
    const a = ls.filter((l) => l.size === 11);
    expect(a.map((l) => names(l).slice(0, 2))).toEqual([['alloc_here', 'path_a'], ['alloc_here', 'path_b']]);
    // two call sites in one function: same functions, different offsets in two_sites
    const two = ls.filter((l) => l.size === 13);
    expect(two.map((l) => names(l).slice(0, 2))).toEqual([['alloc_here', 'two_sites'], ['alloc_here', 'two_sites']]);
    expect(two[0]!.backtrace[1]!.offset).not.toBe(two[1]!.backtrace[1]!.offset);
    expect(two[0]!.backtrace[1]!.line).not.toBe(two[1]!.backtrace[1]!.line);
    // every distinct path has a distinct trace (from recursion depth 14 on, 16 frames of
    // alloc_here and recurse are all that fit, so those traces are equal, as in kmemleak)
    const distinct = ls.filter((l) => l.size < 100 + 14);
    expect(new Set(distinct.map(key)).size).toBe(distinct.length);
  });

  it('recursion: one more frame per level, at most 16 frames (kmemleak\'s MAX_TRACE)', async () => {
    const { leaks: ls } = await leaks(fixture('paths.wasm'));
    for (let d = 0; d <= RECURSE_DEPTH; d++) {
      const l = ls.find((x) => x.size === 100 + d)!;
      expect(l, `depth ${d}`).toBeDefined();
      const fns = names(l);
      expect(fns[0]).toBe('alloc_here');
      expect(fns.length).toBe(Math.min(16, d + 5));   // alloc_here, recurse x (d+1), main, _start, export
      expect(fns.filter((f) => f === 'recurse').length).toBe(Math.min(d + 1, 15));
      if (d + 5 <= 16) expect(fns.slice(-3)).toEqual(['__original_main', '_start', '_start.command_export']);
    }
  });

  it('captures the stack once per calling context, not once per allocation', async () => {
    const r = await leaks(fixture('tool.wasm'), ['leak', '50']);
    expect(r.leaks).toHaveLength(50);
    expect(new Set(r.leaks.map(key)).size).toBe(1);
    expect(r.captures).toBe(r.contexts);
    expect(r.captures).toBeLessThan(10);       // libc start-up, leak_one: far fewer than 50
  });

  it('without calling-context instrumentation every allocation captures, with the same traces', async () => {
    const keyed = await leaks(fixture('paths.wasm'));
    const plain = await leaks(fixture('paths.wasm'), [], false);
    expect(plain.leaks.map(key)).toEqual(keyed.leaks.map(key));
    expect(plain.contexts).toBe(0);
    expect(plain.captures).toBeGreaterThanOrEqual(plain.leaks.length);
    const many = await leaks(fixture('tool.wasm'), ['leak', '50'], false);
    expect(many.captures).toBeGreaterThanOrEqual(50);
  });

  it('allocator frames are left out at the top (calloc in the example)', async () => {
    const { leaks: ls } = await leaks(example('leaks.wasm'));
    for (const l of ls) expect(['make_greeting', 'build_list', 'make_cycle']).toContain(l.backtrace[0]!.function);
  });
});
