/**
 * `--trace-depth N` (RunOptions.traceDepth): frames kept per backtrace. Depth 0 (stacks off) must
 * find exactly the leaks depth 16 finds, capture no stack at all, print well-formed reports with
 * no backtrace lines, and keep the event log's fast path (no JS call per allocation); depth N
 * keeps the top N frames of the full backtrace.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HookWiring, type HookFn } from '../../src/wasm/runtime/hooks.js';
import { InputError } from '../../src/wasm/runtime/errors.js';
import type { RunOptions } from '../../src/wasm/runtime/options.js';
import { watchStartupArgs } from '../../src/wasm/runtime/startup-args.js';
import { fixture, run, tempDir } from './helpers.js';

const CORPUS = fileURLToPath(new URL('../fixtures/wasm/corpus/', import.meta.url));
const corpus = readdirSync(CORPUS).filter((f) => f.endsWith('.wasm')).sort();
/** Extra options a corpus program names in its FLAGS line. */
const FLAGS: Record<string, Partial<RunOptions>> = { 'stack_off.wasm': { stack: false } };

interface JFrame { function: string | null; offset: number; file?: string; line?: number; funcIndex: number; inline?: true }
interface JLeak { address: number; size: number; backtrace: JFrame[] }

async function report(module: string, o: Partial<RunOptions>, args: string[] = []) {
  const json = join(tempDir(), 'r.json');
  const r = await run(module, args, { json, ...o });
  const leaks = (JSON.parse(readFileSync(json, 'utf8')) as { leaks: JLeak[] }).leaks;
  return { ...r, leaks };
}

const bySite = (ls: JLeak[]) => ls.map((l) => `${l.address.toString(16)}:${l.size}`).sort();

/**
 * One object of kmemleak's text report, with its backtrace lines captured; the report must be
 * nothing but such objects (the "new suspected" line goes to the log, before the report; the
 * summary line of SPEC §7 ends it).
 */
const OBJECT = /unreferenced object 0x[0-9a-f]{8} \(size \d+\):\n  comm "[^"\n]*", pid \d+, jiffies \d+\n  hex dump \(first \d+ bytes\):\n(?: {4}[0-9a-f]{2}(?: [0-9a-f]{2})*(?: {2}[^\n]*)?\n)+  backtrace \(crc [0-9a-f]{8}\):\n((?: {4}[^\n]+\n)*)/g;

function objects(text: string): string[] {
  const body = text.replace(/^kmemleak: \d+ new suspected memory leaks \(see below\)\n/, '').replace(/kmemleak: summary: [^\n]*\n$/, '');
  const traces: string[] = [];
  let rest = body;
  for (const m of body.matchAll(OBJECT)) {
    traces.push(m[1]!);
    rest = rest.replace(m[0], '');
  }
  expect(rest, 'text outside the report objects').toBe('');
  return traces;
}

describe('--trace-depth 0 (stacks off) on the corpus', () => {
  it.each(corpus)('%s: the same leaks as depth 16, no stack captured, no backtrace lines', async (name) => {
    const module = join(CORPUS, name);
    const flags = FLAGS[name] ?? {};
    const full = await report(module, { ...flags, traceDepth: 16 });
    const off = await report(module, { ...flags, traceDepth: 0 });
    expect(full.leaks.length).toBeGreaterThan(0);
    expect(bySite(off.leaks)).toEqual(bySite(full.leaks));
    expect(off.result.leaks).toBe(full.result.leaks);
    expect(off.result.status).toBe(full.result.status);
    expect(full.result.captures).toBeGreaterThan(0);
    expect(off.result.captures).toBe(0);
    for (const l of off.leaks) expect(l.backtrace).toEqual([]);
    // text report: every object well formed, with its backtrace header and no frame under it
    const offTraces = objects(off.err);
    expect(offTraces).toHaveLength(off.leaks.length);
    for (const t of offTraces) expect(t).toBe('');
    const fullTraces = objects(full.err);
    expect(fullTraces).toHaveLength(full.leaks.length);
    expect(fullTraces.every((t) => t.length > 0)).toBe(true);   // the same parser sees frames at 16
  });
});

describe('--trace-depth N', () => {
  it.each([['list.wasm'], ['widget.wasm'], ['stack_off.wasm'], ['cycle.wasm']])('%s at depth 2: the top 2 frames of the depth-16 trace', async (name) => {
    const module = join(CORPUS, name);
    const flags = FLAGS[name] ?? {};
    const full = await report(module, { ...flags, traceDepth: 16 });
    const two = await report(module, { ...flags, traceDepth: 2 });
    expect(bySite(two.leaks)).toEqual(bySite(full.leaks));
    const fullAt = new Map(full.leaks.map((l) => [l.address, l]));
    // The depth counts real frames; the functions inlined into them are listed with them.
    const real = (bt: JFrame[]) => bt.filter((f) => !f.inline);
    for (const l of two.leaks) {
      const f = fullAt.get(l.address)!;
      expect(real(f.backtrace).length).toBeGreaterThan(2);
      expect(real(l.backtrace)).toHaveLength(2);
      expect(l.backtrace).toEqual(f.backtrace.slice(0, l.backtrace.length));
      expect(l.backtrace.at(-1)!.inline).toBeUndefined();
    }
    for (const t of objects(two.err)) expect(t.split('\n').filter((x) => x && !x.endsWith(' [inline]')).length).toBeLessThanOrEqual(2);
  });

  it('deep recursion (paths.c) at depths 1, 5 and 15: each trace is the prefix of the full one', async () => {
    const full = await report(fixture('paths.wasm'), { traceDepth: 16 });
    const fullAt = new Map(full.leaks.map((l) => [l.address, l.backtrace]));
    for (const depth of [1, 5, 15]) {
      const r = await report(fixture('paths.wasm'), { traceDepth: depth });
      expect(r.leaks.length).toBe(full.leaks.length);
      for (const l of r.leaks) {
        const f = fullAt.get(l.address)!;
        expect(l.backtrace).toEqual(f.slice(0, depth));
      }
      expect(r.leaks.some((l) => l.backtrace.length === depth)).toBe(true);
    }
  });

  it('the default is 16 frames (kmemleak\'s MAX_TRACE)', async () => {
    const dflt = await report(fixture('paths.wasm'), {});
    expect(Math.max(...dflt.leaks.map((l) => l.backtrace.length))).toBe(16);
  });

  it('a bad traceDepth given to runModule is a one-line usage error', async () => {
    for (const bad of [-1, 17, 2.5, Number.NaN]) {
      const e = await run(fixture('tool.wasm'), [], { traceDepth: bad }).then(() => null, (x: unknown) => x);
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).exitCode).toBe(2);
      expect((e as Error).message).toMatch(/^--trace-depth: [^\n]+$/);
    }
  });
});

describe('--trace-depth 0: the fast path and warnings', () => {
  let calls = { alloc: 0, free: 0 };
  afterEach(() => { vi.restoreAllMocks(); });

  /** Counts the alloc and free hook calls (each one is a call from wasm into JS). */
  function countHooks(): void {
    calls = { alloc: 0, free: 0 };
    const original = HookWiring.prototype.imports;
    vi.spyOn(HookWiring.prototype, 'imports').mockImplementation(function (this: HookWiring, names: readonly string[]) {
      const hooks = original.call(this, names);
      for (const k of ['alloc', 'free'] as const) {
        const f = hooks[k];
        if (f) hooks[k] = ((...a: number[]) => { calls[k]++; f(...a); }) as HookFn;
      }
      return hooks;
    });
  }

  it('contexts are learned without a capture: 20000 malloc/free pairs take a handful of hook calls', async () => {
    countHooks();
    const off = await run(fixture('tool.wasm'), ['churn', '20000'], { traceDepth: 0 });
    expect(off.result.leaks).toBe(1);
    expect(off.result.captures).toBe(0);
    expect(off.result.contexts).toBeGreaterThan(0);
    expect(calls.alloc + calls.free).toBeLessThan(50);
    // the counter does count: without the fast path every event is a hook call
    countHooks();
    const saved = process.env['KMEMLEAK_FAST_PATH'];
    process.env['KMEMLEAK_FAST_PATH'] = 'off';
    try {
      const slow = await run(fixture('tool.wasm'), ['churn', '20000'], { traceDepth: 0 });
      expect(slow.result.leaks).toBe(1);
      expect(slow.result.captures).toBe(0);
    } finally {
      if (saved === undefined) delete process.env['KMEMLEAK_FAST_PATH'];
      else process.env['KMEMLEAK_FAST_PATH'] = saved;
    }
    expect(calls.alloc).toBeGreaterThanOrEqual(20000);
  });

  it('argv blocks of the C library start-up are still not reported', async () => {
    const r = await run(fixture('tool.wasm'), ['args', 'a', 'b', 'c'], { traceDepth: 0 });
    expect(r.result.leaks).toBe(0);
    expect(r.result.status).toBe(0);
  });

  it('double and bad frees are warned about without a backtrace, and no stack is captured', async () => {
    const r = await run(fixture('tool.wasm'), ['dfree', 'badfree', 'dfree2', '300', 'return', '3'], { traceDepth: 0 });
    expect(r.result.status).toBe(3);
    expect(r.result.captures).toBe(0);
    const warnings = r.err.match(/^kmemleak: Freeing unknown object at 0x[0-9a-f]{8}\n/gm);
    expect(warnings).toHaveLength(302);
    expect(r.err).not.toMatch(/^ {4}\S/m);   // no frame line anywhere
    const full = await run(fixture('tool.wasm'), ['dfree', 'badfree', 'return', '3'], { traceDepth: 16 });
    expect(full.err).toMatch(/^kmemleak: Freeing unknown object at 0x[0-9a-f]{8}\n    main\+/m);
  });
});

describe('watchStartupArgs (the start-up window at depth 0)', () => {
  function wasiWith(argc: number) {
    const mem = new ArrayBuffer(64);
    const host = {
      calls: [] as string[],
      args_sizes_get(this: { calls: string[] }, c: number, _s: number) { this.calls.push('sizes'); new DataView(mem).setUint32(c, argc, true); return 0; },
      args_get(this: { calls: string[] }) { this.calls.push('get'); return 0; },
      fd_write: () => 0,
    };
    return { host, mem };
  }

  it('opens at the first args_sizes_get with arguments, closes at args_get, never reopens', () => {
    const { host, mem } = wasiWith(2);
    const events: boolean[] = [];
    const w = watchStartupArgs(host, (open) => events.push(open), () => mem);
    expect(w).not.toBe(host);
    expect(w['fd_write']).toBe(host.fd_write);
    (w['args_sizes_get'] as (a: number, b: number) => number)(8, 12);
    (w['args_get'] as (a: number, b: number) => number)(16, 20);
    (w['args_sizes_get'] as (a: number, b: number) => number)(8, 12);
    (w['args_get'] as (a: number, b: number) => number)(16, 20);
    expect(events).toEqual([true, false]);
    expect(host.calls).toEqual(['sizes', 'get', 'sizes', 'get']);   // the host's own functions, with their `this`
  });

  it('no arguments, or no memory yet: the window never opens', () => {
    for (const [argc, known] of [[0, true], [3, false]] as const) {
      const { host, mem } = wasiWith(argc);
      const events: boolean[] = [];
      const w = watchStartupArgs(host, (open) => events.push(open), () => (known ? mem : null));
      (w['args_sizes_get'] as (a: number, b: number) => number)(8, 12);
      (w['args_get'] as (a: number, b: number) => number)(16, 20);
      expect(events).toEqual([]);
    }
  });
});
