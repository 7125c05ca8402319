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

/**
 * Checks the whole map of one module; returns the problems found (plain comparisons, collected,
 * so that tens of thousands of instructions do not cost tens of thousands of expect() calls).
 */
function checkModule(original: Uint8Array, r: Instrumented): { calls: number; instrs: number; problems: string[] } {
  const a = parseModule(original);
  const b = parseModule(r.binary);
  let calls = 0;
  let instrs = 0;
  const problems: string[] = [];
  const problem = (p: string): void => {
    if (problems.length < 10) problems.push(p);
  };
  const same = (x: Uint8Array, y: Uint8Array): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  for (const body of a.bodies) {
    const f = body.index;
    const orig = instructions(a, f);
    const next = instructions(b, r.newFunction(f));
    if (r.originalFunction(r.newFunction(f)) !== f) problem(`function ${f} does not map back`);
    const origStarts = new Map(orig.map((i) => [i.start, i]));
    // Every new instruction maps to an original instruction start, in order.
    let prev = -1;
    const lastFor = new Map<number, Ins>();
    for (const n of next) {
      const o = r.originalOffset(n.start);
      if (!origStarts.has(o)) problem(`func ${f}: new 0x${n.start.toString(16)} -> 0x${o.toString(16)}, no instruction`);
      if (o < prev) problem(`func ${f}: new 0x${n.start.toString(16)} maps backwards`);
      prev = o;
      lastFor.set(o, n);
    }
    // The last new instruction standing for each original one is that instruction.
    for (const o of orig) {
      instrs++;
      const n = lastFor.get(o.start);
      if (!n) {
        problem(`func ${f}: original 0x${o.start.toString(16)} missing`);
        continue;
      }
      if (n.op !== o.op || n.sub !== o.sub) problem(`func ${f}: 0x${o.start.toString(16)} opcode changed`);
      if (o.op === 0x10 || o.op === 0x12 || o.op === 0xd2) {
        const wrapper = r.wrapperOf(n.index);
        const target = wrapper ? wrapper.index : r.originalFunction(n.index);
        if (target !== o.index) problem(`func ${f}: 0x${o.start.toString(16)} calls ${target}, was ${o.index}`);
        calls++;
      } else if (!same(b.bytes.subarray(n.start, n.end), a.bytes.subarray(o.start, o.end))) {
        // any other instruction is a byte-identical copy
        problem(`func ${f}: 0x${o.start.toString(16)} bytes changed`);
      }
    }
  }
  return { calls, instrs, problems };
}

describe('every original instruction maps back exactly', () => {
  for (const name of validFixtures()) {
    if (name.includes('linkopt') || name.includes('stripped') || name === 'custom_pool.wasm') continue;
    it(name, () => {
      const original = fixture(name);
      const { calls, instrs, problems } = checkModule(original, instrument(original));
      expect(problems).toEqual([]);
      expect(calls).toBeGreaterThan(0);
      expect(instrs).toBeGreaterThan(0);
    });
  }
  it('also without calling-context code (only renumbered immediates)', () => {
    const original = fixture('corpus/widget.wasm');
    const r = instrument(original, { callingContext: false });
    expect(checkModule(original, r).problems).toEqual([]);
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
