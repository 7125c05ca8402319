/**
 * The liveness analysis behind the spill sites (src/wasm/instrument/liveness.ts): which locals
 * are live right after a call, on small hand-built bodies (straight line, if/else, loops, br_table,
 * local.tee, writes before reads, return), the cases where it must give up (exception handling,
 * bad nesting), and a property test against an independent oracle: the same dataflow equations
 * solved per instruction over an explicit successor graph, on random structured bodies.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { liveAtSites, isLive, type Liveness } from '../../src/wasm/instrument/liveness.js';

const GET = 0x20, SET = 0x21, TEE = 0x22, DROP = 0x1a, CONST = 0x41, CALL = 0x10, END = 0x0b;
const BLOCK = 0x02, LOOP = 0x03, IF = 0x04, ELSE = 0x05, BR = 0x0c, BR_IF = 0x0d, BR_TABLE = 0x0e, RETURN = 0x0f;
const VOID = 0x40;

/** Body bytes (all immediates here are < 64, so one LEB byte each) ending with the function's end. */
const body = (...ops: number[]): Uint8Array => new Uint8Array([...ops, END]);
const get = (j: number): number[] => [GET, j, DROP];
const set = (j: number): number[] => [CONST, 0, SET, j];
const call = [CALL, 0];

/** The analysis with every `call` a site. */
const analyse = (b: Uint8Array, locals: number): Liveness | null => liveAtSites(b, 0, b.length, locals, (ins) => ins.op === CALL);

/** The live locals after each site. */
function liveSets(b: Uint8Array, locals: number): number[][] {
  const l = analyse(b, locals);
  expect(l).not.toBeNull();
  return l!.sites.map((_, k) => Array.from({ length: locals }, (_, j) => j).filter((j) => isLive(l!, k, j)));
}

describe('liveness at call sites', () => {
  it('straight line: read after the call is live, read only before it is not', () => {
    expect(liveSets(body(...get(0), ...call, ...get(1)), 3)).toEqual([[1]]);
  });

  it('a local written before every later read is dead; read before the write, live', () => {
    expect(liveSets(body(...call, ...set(1), ...get(1)), 2)).toEqual([[]]);
    expect(liveSets(body(...call, ...get(1), ...set(1), ...get(1)), 2)).toEqual([[1]]);
  });

  it('if/else: a read in either branch is live; a write in both branches before the read kills it', () => {
    expect(liveSets(body(...call, CONST, 1, IF, VOID, ...get(0), ELSE, ...get(1), END, ...get(2)), 4)).toEqual([[0, 1, 2]]);
    expect(liveSets(body(...call, CONST, 1, IF, VOID, ...set(0), ELSE, ...set(0), END, ...get(0)), 1)).toEqual([[]]);
    // written in one branch only: the other path reads the old value
    expect(liveSets(body(...call, CONST, 1, IF, VOID, ...set(0), END, ...get(0)), 1)).toEqual([[0]]);
  });

  it('loop: a local read at the loop head is live at a call late in the body (the back edge)', () => {
    const b = body(LOOP, VOID, ...get(0), ...set(2), ...get(2), ...call, CONST, 1, BR_IF, 0, END, ...get(1));
    expect(liveSets(b, 3)).toEqual([[0, 1]]);
    // written at the head before being read: dead at the call
    expect(liveSets(body(LOOP, VOID, ...set(0), ...get(0), ...call, CONST, 1, BR_IF, 0, END), 1)).toEqual([[]]);
    // nested loops: the outer head's read reaches a call in the inner loop through both back edges
    const nested = body(LOOP, VOID, ...get(0), LOOP, VOID, ...call, CONST, 1, BR_IF, 0, CONST, 1, BR_IF, 1, END, END);
    expect(liveSets(nested, 1)).toEqual([[0]]);
  });

  it('br_table: the union of its targets, and only of them', () => {
    // block(L2) block(L1) block(L0) call; br_table 0 1 (default 0) end get0 return end get1 return end get2
    const b = body(BLOCK, VOID, BLOCK, VOID, BLOCK, VOID, ...call, CONST, 0, BR_TABLE, 1, 0, 1, END,
      ...get(0), RETURN, END, ...get(1), RETURN, END, ...get(2));
    expect(liveSets(b, 3)).toEqual([[0, 1]]);
  });

  it('local.tee writes the local: dead after it, while the value it copies from stays live', () => {
    expect(liveSets(body(...call, CONST, 5, TEE, 0, DROP, ...get(0)), 1)).toEqual([[]]);
    expect(liveSets(body(...call, GET, 0, TEE, 1, DROP, ...get(1)), 2)).toEqual([[0]]);
  });

  it('return and unreachable: nothing after them is live; br out of a block skips the reads in it', () => {
    expect(liveSets(body(...call, RETURN, ...get(0)), 1)).toEqual([[]]);
    expect(liveSets(body(...call, 0x00, ...get(0)), 1)).toEqual([[]]);
    expect(liveSets(body(BLOCK, VOID, ...call, BR, 0, ...get(0), END, ...get(1)), 2)).toEqual([[1]]);
  });

  it('locals past 32 (several words)', () => {
    expect(liveSets(body(...call, ...get(33), ...get(64), ...get(31)), 70)).toEqual([[31, 33, 64]]);
  });

  it('gives up (null: all live) on exception handling, bad nesting and out-of-range locals', () => {
    expect(analyse(body(0x06, VOID, ...call, 0x19, ...get(0), END), 1)).toBeNull();   // try/catch_all
    expect(analyse(new Uint8Array([...call, END, END]), 1)).toBeNull();
    expect(analyse(new Uint8Array([BLOCK, VOID, ...call, END]), 1)).toBeNull();
    expect(analyse(body(...call, ...get(3)), 2)).toBeNull();
    expect(analyse(new Uint8Array([0xff, END]), 1)).toBeNull();
  });
});

// ---- property test: random structured bodies against an explicit-graph solution ----

/** A tiny deterministic generator of valid structured bodies with `locals` i32 locals. */
function randomBody(seed: number, locals: number): Uint8Array {
  let s = seed >>> 0 || 1;
  const rnd = (n: number): number => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return (s >>> 0) % n; };
  const out: number[] = [];
  const stmts = (depth: number, budget: number): void => {
    const n = 1 + rnd(5);
    for (let k = 0; k < n && out.length < budget; k++) {
      const c = rnd(depth < 4 ? 14 : 10);
      const j = rnd(locals);
      if (c <= 2) out.push(...get(j));
      else if (c <= 4) out.push(...set(j));
      else if (c === 5) out.push(GET, rnd(locals), TEE, j, DROP);
      else if (c === 6) out.push(...call);
      else if (c === 7) out.push(CONST, rnd(2), BR_IF, rnd(depth + 1));
      else if (c === 8) { if (rnd(4) === 0) out.push(BR, rnd(depth + 1)); else out.push(...call); }
      else if (c === 9) {
        if (rnd(3) === 0) { const t = 1 + rnd(3); out.push(CONST, rnd(4), BR_TABLE, t); for (let i = 0; i <= t; i++) out.push(rnd(depth + 1)); }
        else if (rnd(6) === 0) out.push(rnd(2) ? RETURN : 0x00);
        else out.push(...get(j));
      } else if (c === 10 || c === 11) { out.push(c === 10 ? BLOCK : LOOP, VOID); stmts(depth + 1, budget); out.push(END); }
      else { out.push(CONST, rnd(2), IF, VOID); stmts(depth + 1, budget); if (rnd(2)) { out.push(ELSE); stmts(depth + 1, budget); } out.push(END); }
    }
  };
  stmts(0, 400);
  out.push(END);
  return new Uint8Array(out);
}

/** Oracle: per-instruction successors from the structure, then live sets iterated to a fixed point. */
function oracle(b: Uint8Array, locals: number): number[][] {
  interface I { at: number; op: number; imm: number[] }
  const ins: I[] = [];
  for (let p = 0; p < b.length;) {
    const op = b[p++]!;
    const imm: number[] = [];
    if (op === BLOCK || op === LOOP || op === IF || op === CONST || op === CALL || op === BR || op === BR_IF || op === GET || op === SET || op === TEE) imm.push(b[p++]!);
    if (op === BR_TABLE) { const t = b[p++]!; for (let i = 0; i <= t; i++) imm.push(b[p++]!); }
    ins.push({ at: p, op, imm });
  }
  const n = ins.length;
  const endOf = new Array<number>(n).fill(-1), elseOf = new Array<number>(n).fill(-1), openerOf = new Array<number>(n).fill(-1);
  const stack: number[] = [];
  ins.forEach((x, i) => {
    if (x.op === BLOCK || x.op === LOOP || x.op === IF) stack.push(i);
    else if (x.op === ELSE) { elseOf[stack[stack.length - 1]!] = i; openerOf[i] = stack[stack.length - 1]!; }
    else if (x.op === END && stack.length) { const o = stack.pop()!; endOf[o] = i; openerOf[i] = o; }
  });
  // enclosing frames per instruction (innermost last), for branch targets
  const succ: number[][] = [];
  const frames: number[] = [];
  const target = (depth: number): number => {
    if (depth >= frames.length) return n;                 // the function's label: exit
    const o = frames[frames.length - 1 - depth]!;
    return ins[o]!.op === LOOP ? o : endOf[o]!;
  };
  ins.forEach((x, i) => {
    if (x.op === END && openerOf[i]! >= 0) frames.pop();
    const s: number[] = [];
    if (x.op === BR) s.push(target(x.imm[0]!));
    else if (x.op === BR_IF) s.push(i + 1, target(x.imm[0]!));
    else if (x.op === BR_TABLE) for (const d of x.imm) s.push(target(d));
    else if (x.op === RETURN || x.op === 0x00) { /* none */ }
    else if (x.op === IF) s.push(i + 1, elseOf[i]! >= 0 ? elseOf[i]! + 1 : endOf[i]!);
    else if (x.op === ELSE) s.push(endOf[openerOf[i]!]!);
    else s.push(i + 1);
    succ.push(s);
    if (x.op === BLOCK || x.op === LOOP || x.op === IF) frames.push(i);
  });
  const liveIn: Set<number>[] = ins.map(() => new Set());
  const liveOut = (i: number): Set<number> => new Set(succ[i]!.flatMap((t) => (t >= n ? [] : [...liveIn[t]!])));
  for (let changed = true; changed;) {
    changed = false;
    for (let i = n - 1; i >= 0; i--) {
      const x = ins[i]!;
      const s = liveOut(i);
      if (x.op === SET || x.op === TEE) s.delete(x.imm[0]!);
      if (x.op === GET) s.add(x.imm[0]!);
      if (s.size !== liveIn[i]!.size) { liveIn[i] = s; changed = true; }
    }
  }
  return ins.flatMap((x, i) => (x.op === CALL ? [[...liveOut(i)].sort((a, c) => a - c)] : []));
}

describe('liveness property', () => {
  it('matches the explicit-graph solution on random structured bodies', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 0x7fffffff }), fc.integer({ min: 1, max: 40 }), (seed, locals) => {
      const b = randomBody(seed, locals);
      expect(liveSets(b, locals)).toEqual(oracle(b, locals));
    }), { numRuns: 400 });
  });
});
