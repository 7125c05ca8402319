/**
 * Probabilistic calling context: the value a wrapper hands the hook identifies the call path.
 * Different paths give different values, the same path the same value, recursion depths differ,
 * and the value is exactly V = 3*V' + callsite folded over the original call-site offsets.
 */
import { describe, expect, it } from 'vitest';
import { instrument, callSiteConstant, type Instrumented } from '../../src/wasm/instrument/index.js';
import { fixture, runWasi, saidLines, type HookEvent } from './helpers.js';

const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);

function mapped(r: Instrumented, frames: Array<[number, number]>): Array<[number, number]> {
  return frames.map(([f, o]) => [r.originalFunction(f), r.originalOffset(o)] as [number, number]).filter(([f]) => f >= 0);
}

/** Allocation events labelled with the "P label" line printed before each. */
function labelled(stdout: string, events: HookEvent[]): Map<string, bigint[]> {
  const allocs = events.filter((e) => e.kind !== 'free');
  const out = new Map<string, bigint[]>();
  let label = '';
  let i = 0;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('P ')) label = line.slice(2);
    else if (line.startsWith('A ')) {
      const e = allocs[i++]!;
      expect(`A ${e.ptr} ${e.size}`).toBe(line);
      out.set(label, [...(out.get(label) ?? []), e.ctx]);
    }
  }
  return out;
}

describe('calling context values', () => {
  const r = instrument(fixture('pcc.wasm'));
  const run = runWasi(r.binary, { stacks: true });
  const ctx = labelled(run.stdout, run.events);
  const one = (l: string): bigint => ctx.get(l)![0]!;

  it('same path, same value; different paths, different values', () => {
    expect(ctx.get('a')).toHaveLength(2);
    expect(ctx.get('a')![0]).toBe(ctx.get('a')![1]); // a loop: the same call sites twice
    expect(one('a')).not.toBe(one('b')); // same site, reached through via_b
    expect(one('a')).not.toBe(one('a-elsewhere')); // via_a called from another place in main
    expect(one('i')).not.toBe(one('a')); // an indirect call site is another path
    for (const v of ctx.values()) for (const x of v) expect(x).not.toBe(0n);
    expect(new Set([...ctx.entries()].map(([, v]) => v[0])).size).toBe(ctx.size);
  });

  it('recursion depths differ; the same depth through the same sites is the same', () => {
    expect(new Set([one('r0'), one('r1'), one('r2')]).size).toBe(3);
    expect(ctx.get('r2')).toHaveLength(2);
    expect(ctx.get('r2')![1]).toBe(ctx.get('r2')![0]);
  });

  it('is V = 3V + callsite folded over the original call sites, outermost first', () => {
    for (const e of run.events.filter((x) => x.kind !== 'free')) {
      const path = mapped(r, e.frames!).reverse().map(([, o]) => o);
      expect(u64(r.contextOf(path))).toBe(e.ctx);
    }
  });

  it('call-site constants are distinct', () => {
    const seen = new Set<bigint>();
    for (let off = 0; off < 20000; off++) seen.add(callSiteConstant(off));
    expect(seen.size).toBe(20000);
  });
});

describe('distinct backtraces <=> distinct contexts', () => {
  for (const name of ['pcc.wasm', 'corpus/many.wasm', 'corpus/list.wasm', 'corpus/widget.wasm', 'corpus/realloc.wasm', 'cxx_new.wasm']) {
    it(name, () => {
      const r = instrument(fixture(name));
      const run = runWasi(r.binary, { stacks: true });
      const byTrace = new Map<string, bigint>();
      const byCtx = new Map<bigint, string>();
      let n = 0;
      for (const e of run.events) {
        if (e.kind === 'free') continue;
        const trace = JSON.stringify(mapped(r, e.frames!));
        if (byTrace.has(trace)) expect(byTrace.get(trace)).toBe(e.ctx);
        if (byCtx.has(e.ctx)) expect(byCtx.get(e.ctx)).toBe(trace);
        byTrace.set(trace, e.ctx);
        byCtx.set(e.ctx, trace);
        n++;
      }
      expect(n).toBeGreaterThan(0);
      expect(byCtx.size).toBe(byTrace.size);
    });
  }
});

describe('calling context off', () => {
  it('passes 0, 0 and adds no context global or code', () => {
    const on = instrument(fixture('pcc.wasm'));
    const off = instrument(fixture('pcc.wasm'), { callingContext: false });
    expect(off.exports.context).toBeNull();
    expect(off.stats.instrumentedCallSites).toBe(0);
    expect(off.binary.length).toBeLessThan(on.binary.length);
    const run = runWasi(off.binary);
    expect(run.events.length).toBeGreaterThan(0);
    for (const e of run.events) expect(e.ctx).toBe(0n);
    expect(saidLines(run.stdout).length).toBe(run.events.length);
  });
  it('instruments only functions that can reach an allocator', () => {
    const r = instrument(fixture('corpus/simple.wasm'));
    // simple.wasm has ~37 functions; printf's internals (fmt_u, pad, memcpy, ...) reach no allocator
    expect(r.stats.instrumentedFunctions).toBeGreaterThan(3);
    expect(r.stats.instrumentedFunctions).toBeLessThan(20);
  });
});
