/**
 * The offset map: every original instruction of every function is found again in the rewritten
 * module at an offset that maps back to it exactly; inserted code maps to the instruction it
 * precedes; V8's frames (traps, and stacks captured inside the allocation hook) map back to the
 * frames the original module produces.
 */
import { describe, expect, it } from 'vitest';
import { instrument, type Instrumented } from '../../src/wasm/instrument/index.js';
import { parseModule, walkInstructions, type WasmModule } from '../../src/wasm/binary/index.js';
import { fixture, validFixtures, runWasi } from './helpers.js';

interface Ins { start: number; end: number; op: number; sub: number; index: number }

function instructions(m: WasmModule, f: number): Ins[] {
  const b = m.bodies[f - m.importedFuncCount]!;
  const out: Ins[] = [];
  walkInstructions(m.bytes, b.codeStart, b.end, (i) => out.push({ start: i.start, end: i.end, op: i.op, sub: i.sub, index: i.index }));
  return out;
}

function checkModule(original: Uint8Array, r: Instrumented): { calls: number; instrs: number } {
  const a = parseModule(original);
  const b = parseModule(r.binary);
  let calls = 0;
  let instrs = 0;
  for (const body of a.bodies) {
    const f = body.index;
    const orig = instructions(a, f);
    const next = instructions(b, r.newFunction(f));
    expect(r.originalFunction(r.newFunction(f))).toBe(f);
    const origStarts = new Map(orig.map((i) => [i.start, i]));
    // Every new instruction maps to an original instruction start, in order.
    let prev = -1;
    const lastFor = new Map<number, Ins>();
    for (const n of next) {
      const o = r.originalOffset(n.start);
      expect(origStarts.has(o), `func ${f}: new 0x${n.start.toString(16)} -> 0x${o.toString(16)}`).toBe(true);
      expect(o).toBeGreaterThanOrEqual(prev);
      prev = o;
      lastFor.set(o, n);
    }
    // The last new instruction standing for each original one is that instruction.
    for (const o of orig) {
      const n = lastFor.get(o.start);
      expect(n, `func ${f}: original 0x${o.start.toString(16)} missing`).toBeDefined();
      expect([n!.op, n!.sub]).toEqual([o.op, o.sub]);
      instrs++;
      if (o.op === 0x10 || o.op === 0x12 || o.op === 0xd2) {
        const wrapper = r.wrapperOf(n!.index);
        if (wrapper) expect(wrapper.index).toBe(o.index);
        else expect(r.originalFunction(n!.index)).toBe(o.index);
        calls++;
      } else {
        // any other instruction is a byte-identical copy
        expect(b.bytes.subarray(n!.start, n!.end)).toEqual(a.bytes.subarray(o.start, o.end));
      }
    }
  }
  return { calls, instrs };
}

describe('every original instruction maps back exactly', () => {
  for (const name of validFixtures()) {
    if (name.includes('linkopt') || name.includes('stripped') || name === 'custom_pool.wasm') continue;
    it(name, () => {
      const original = fixture(name);
      const { calls, instrs } = checkModule(original, instrument(original));
      expect(calls).toBeGreaterThan(0);
      expect(instrs).toBeGreaterThan(0);
    });
  }
  it('also without calling-context code (only renumbered immediates)', () => {
    const original = fixture('corpus/widget.wasm');
    const r = instrument(original, { callingContext: false });
    checkModule(original, r);
    expect(r.stats.instrumentedCallSites).toBe(0);
  });
});

describe('outside original code', () => {
  it('maps to -1; hooks and wrappers have no original function', () => {
    const original = fixture('corpus/simple.wasm');
    const r = instrument(original);
    const m = parseModule(r.binary);
    const I = parseModule(original).importedFuncCount;
    expect(r.originalOffset(0)).toBe(-1);
    expect(r.originalOffset(r.binary.length + 10)).toBe(-1);
    for (const a of r.allocators) {
      const body = m.bodies[a.wrapper - m.importedFuncCount]!;
      expect(r.originalOffset(body.codeStart)).toBe(-1);
      expect(r.originalFunction(a.wrapper)).toBe(-1);
    }
    for (let h = 0; h < r.hooks.length; h++) expect(r.originalFunction(I + h)).toBe(-1);
    expect(r.originalFunction(I - 1)).toBe(I - 1);
  });
});

describe('V8 frames map back to the original module', () => {
  const mapFrames = (r: Instrumented, frames: Array<[number, number]>): Array<[number, number]> =>
    frames.map(([f, o]) => [r.originalFunction(f), r.originalOffset(o)] as [number, number]).filter(([f]) => f >= 0);

  for (const which of ['1', '2', '3']) {
    it(`trap ${which}: the rewritten module's trap frames are the original's`, () => {
      const original = fixture('trap.wasm');
      const r = instrument(original);
      const before = runWasi(original, { args: [which] });
      const after = runWasi(r.binary, { args: [which] });
      expect(before.trap).toBeInstanceOf(WebAssembly.RuntimeError);
      expect(after.trap?.message).toBe(before.trap!.message);
      const want = before.trapFrames;
      expect(want.length).toBeGreaterThanOrEqual(6); // trap site, deep x4, main ...
      expect(mapFrames(r, after.trapFrames)).toEqual(want);
    });
  }

  it('a stack captured in the allocation hook maps to the call of malloc in the original', () => {
    const original = fixture('trap.wasm');
    const r = instrument(original);
    const run = runWasi(r.binary, { args: ['1'], stacks: true });
    const alloc = run.events.find((e) => e.kind === 'alloc' && e.size === 10)!;
    const frames = alloc.frames!;
    // innermost wasm frame: the malloc wrapper (ours, dropped)
    expect(r.originalFunction(frames[0]![0])).toBe(-1);
    const mapped = mapFrames(r, frames);
    const a = parseModule(original);
    const names = a.names!.functions;
    expect(names.get(mapped[0]![0])).toBe('deep');
    // the frame's offset is the original `call malloc` instruction
    const malloc = r.allocators.find((x) => x.name === 'malloc')!.index;
    const calls = instructions(a, mapped[0]![0]).filter((i) => i.op === 0x10 && i.index === malloc);
    expect(calls.map((c) => c.start)).toContain(mapped[0]![1]);
    // then deep's recursive calls, each at the original call instruction
    const deepCalls = instructions(a, mapped[0]![0]).filter((i) => i.op === 0x10 && i.index === mapped[0]![0]).map((i) => i.start);
    for (const [f, o] of mapped.slice(1, 4)) {
      expect(names.get(f)).toBe('deep');
      expect(deepCalls).toContain(o);
    }
  });
});
