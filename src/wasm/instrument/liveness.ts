/**
 * Live locals at chosen call sites of one function body: a backward dataflow over wasm's
 * structured control flow (block/loop/if/else/end, br, br_if, br_table, return, unreachable).
 *
 * Why: the spill code (spill.ts) stores a caller's i32 locals on the shadow stack around calls
 * that can reach a scan. A local that no path reads again before writing it (dead) cannot be used
 * by the program any more, so it need not be stored: a block referenced only by it is unreachable
 * for the program. Storing only the live ones cuts the spill work at sqlite's interpreter loop
 * from 41 locals per call to the few live there (bench/RESULTS.md, "Spill liveness").
 *
 * The analysis: a local is live at a point if some path from there reads it (`local.get`) before
 * writing it (`local.set`, `local.tee`). Walking the body backward, the live set before an
 * instruction is computed from the set after it; a branch's set after is its target label's: the
 * set after the `end` of a block or if, the set at the loop body's start for a loop (from the
 * previous pass: passes repeat until no loop head's set grows, the least fixed point, starting
 * from empty sets), nothing for the function's label (`return`). `unreachable`, `return` and tail
 * calls leave nothing live. A site's result is the set live right after its call returns.
 *
 * Invariants: conservative wherever unsure. A body with exception handling (its handlers are
 * edges the walk does not model), an opcode that decodes badly, an unknown control opcode, bad
 * nesting or a local index out of range gives null: the caller then treats every local as live.
 * Bitsets are Uint32Arrays of `words` words per set; nothing here runs at the program's run time.
 */
import { ByteReader, Instr, decodeInstr } from '../binary/index.js';

export interface Liveness {
  /** Words per set: ceil(locals / 32). */
  words: number;
  /** Offsets (ins.start) of the sites, in body order. */
  sites: number[];
  /** Site k's live-out set: bits [k * words, (k + 1) * words); bit j = local j. */
  live: Uint32Array;
}

/** Whether local j is live right after site k. */
export const isLive = (l: Liveness, site: number, local: number): boolean =>
  ((l.live[site * l.words + (local >>> 5)]! >>> (local & 31)) & 1) === 1;

const OP_UNREACHABLE = 0x00, OP_BLOCK = 0x02, OP_LOOP = 0x03, OP_IF = 0x04, OP_ELSE = 0x05, OP_END = 0x0b;
const OP_BR = 0x0c, OP_BR_IF = 0x0d, OP_BR_TABLE = 0x0e, OP_RETURN = 0x0f;
const OP_RETURN_CALL = 0x12, OP_RETURN_CALL_INDIRECT = 0x13, OP_RETURN_CALL_REF = 0x15;
const OP_LOCAL_GET = 0x20, OP_LOCAL_SET = 0x21, OP_LOCAL_TEE = 0x22;
const OP_BR_ON_NULL = 0xd5, OP_BR_ON_NON_NULL = 0xd6;

/** Control opcodes (0x00-0x1f) the walk models; any other one there gives up. */
const MODELLED = new Set([0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
  0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x1a, 0x1b, 0x1c]);

/** More passes than this (the loop nesting depth bounds them in practice): give up. */
const MAX_PASSES = 200;

/** The body decoded once: per instruction its opcode, first immediate, offset; br_table targets. */
interface Decoded {
  n: number;
  op: Int32Array;
  imm: Int32Array;
  start: Int32Array;
  /** For a br_table: its first entry in `targets` (its default comes last); else -1. */
  tableAt: Int32Array;
  tableEnd: Int32Array;
  targets: number[];
  site: Uint8Array;
}

function decodeBody(bytes: Uint8Array, codeStart: number, end: number, isSite: (ins: Instr) => boolean): Decoded | null {
  const cap = end - codeStart;
  const d: Decoded = {
    n: 0, op: new Int32Array(cap), imm: new Int32Array(cap), start: new Int32Array(cap),
    tableAt: new Int32Array(cap).fill(-1), tableEnd: new Int32Array(cap), targets: [], site: new Uint8Array(cap),
  };
  const r = new ByteReader(bytes, codeStart, end);
  r.what = 'function body';
  const ins = new Instr();
  try {
    while (r.pos < end) {
      decodeInstr(r, ins, false);
      const i = d.n++;
      const op = ins.op;
      if (op <= 0x1f && !MODELLED.has(op)) return null;     // exception handling and the unknown
      d.op[i] = op; d.imm[i] = ins.index; d.start[i] = ins.start;
      if (isSite(ins)) d.site[i] = 1;
      if (op === OP_BR_TABLE) {
        const t = new ByteReader(bytes, ins.immStart, ins.end);
        const count = t.u32();
        d.tableAt[i] = d.targets.length;
        for (let k = 0; k <= count; k++) d.targets.push(t.u32());
        d.tableEnd[i] = d.targets.length;
      }
    }
  } catch {
    return null;
  }
  return d;
}

/** Matching of the structure: each end's and else's opener (-1: the function), each loop's id. */
interface Structure {
  partner: Int32Array;
  /** For an if: its else's instruction, or -1. */
  elseOf: Int32Array;
  loopId: Int32Array;
  loops: number;
  maxDepth: number;
}

function matchStructure(d: Decoded): Structure | null {
  const s: Structure = {
    partner: new Int32Array(d.n).fill(-1), elseOf: new Int32Array(d.n).fill(-1), loopId: new Int32Array(d.n).fill(-1),
    loops: 0, maxDepth: 1,
  };
  const stack: number[] = [];
  for (let i = 0; i < d.n; i++) {
    const op = d.op[i]!;
    if (op === OP_BLOCK || op === OP_LOOP || op === OP_IF) {
      stack.push(i);
      if (stack.length + 1 > s.maxDepth) s.maxDepth = stack.length + 1;
      if (op === OP_LOOP) s.loopId[i] = s.loops++;
    } else if (op === OP_ELSE) {
      const o = stack[stack.length - 1];
      if (o === undefined || d.op[o] !== OP_IF || s.elseOf[o] !== -1) return null;
      s.elseOf[o] = i; s.partner[i] = o;
    } else if (op === OP_END) {
      if (stack.length === 0) {
        if (i !== d.n - 1) return null;                       // the function's end must be last
      } else {
        s.partner[i] = stack.pop()!;
      }
    }
  }
  if (stack.length !== 0 || d.n === 0 || d.op[d.n - 1] !== OP_END) return null;
  return s;
}

/**
 * The live locals right after each site (an instruction isSite accepts) of the body in
 * [codeStart, end) (after the local declarations) of a function with `locals` locals (params
 * included), or null: unsure (every local is to be taken as live).
 */
export function liveAtSites(
  bytes: Uint8Array, codeStart: number, end: number, locals: number, isSite: (ins: Instr) => boolean,
): Liveness | null {
  const d = decodeBody(bytes, codeStart, end, isSite);
  if (d === null) return null;
  const s = matchStructure(d);
  if (s === null) return null;
  const W = Math.max(1, (locals + 31) >>> 5);
  const sites: number[] = [];
  const siteNo = new Int32Array(d.n).fill(-1);
  for (let i = 0; i < d.n; i++) {
    if (d.site[i]) { siteNo[i] = sites.length; sites.push(d.start[i]!); }
    const op = d.op[i]!;
    if ((op === OP_LOCAL_GET || op === OP_LOCAL_SET || op === OP_LOCAL_TEE) && (d.imm[i]! < 0 || d.imm[i]! >= locals)) return null;
  }
  const live = new Uint32Array(sites.length * W);
  const loopHead = new Uint32Array(s.loops * W);
  const label = new Uint32Array(s.maxDepth * W);      // per frame depth: its branch target's set
  const elseLive = new Uint32Array(s.maxDepth * W);   // per if frame: its else branch's live-in
  const cur = new Uint32Array(W);
  const copyInto = (dst: Uint32Array, at: number, src: Uint32Array, from: number): void => {
    for (let w = 0; w < W; w++) dst[at + w] = src[from + w]!;
  };
  const orInto = (dst: Uint32Array, at: number, src: Uint32Array, from: number): void => {
    for (let w = 0; w < W; w++) dst[at + w]! |= src[from + w]!;
  };
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    let changed = false;
    let top = -1;                                     // frame depth of the innermost frame
    cur.fill(0);
    for (let i = d.n - 1; i >= 0; i--) {
      const op = d.op[i]!;
      if (siteNo[i]! >= 0) copyInto(live, siteNo[i]! * W, cur, 0);
      switch (op) {
        case OP_END: {
          top++;
          const o = s.partner[i]!;
          if (o >= 0 && d.op[o] === OP_LOOP) copyInto(label, top * W, loopHead, s.loopId[o]! * W);
          else copyInto(label, top * W, cur, 0);      // after a block's or if's end; nothing for the function's
          break;
        }
        case OP_ELSE:
          copyInto(elseLive, top * W, cur, 0);
          copyInto(cur, 0, label, top * W);           // the then branch falls through to the end
          break;
        case OP_IF:
          orInto(cur, 0, s.elseOf[i]! >= 0 ? elseLive : label, top * W);
          top--;
          break;
        case OP_BLOCK:
          top--;
          break;
        case OP_LOOP: {
          const at = s.loopId[i]! * W;
          for (let w = 0; w < W; w++) {
            if ((cur[w]! & ~loopHead[at + w]!) !== 0) { changed = true; loopHead[at + w]! |= cur[w]!; }
          }
          top--;
          break;
        }
        case OP_BR: case OP_BR_IF: case OP_BR_ON_NULL: case OP_BR_ON_NON_NULL: {
          const t = top - d.imm[i]!;
          if (t < 0) return null;
          if (op === OP_BR) copyInto(cur, 0, label, t * W);
          else orInto(cur, 0, label, t * W);
          break;
        }
        case OP_BR_TABLE: {
          cur.fill(0);
          for (let k = d.tableAt[i]!, e = d.tableEnd[i]!; k < e; k++) {
            const t = top - d.targets[k]!;
            if (t < 0) return null;
            orInto(cur, 0, label, t * W);
          }
          break;
        }
        case OP_RETURN: case OP_UNREACHABLE: case OP_RETURN_CALL: case OP_RETURN_CALL_INDIRECT: case OP_RETURN_CALL_REF:
          cur.fill(0);
          break;
        case OP_LOCAL_GET: {
          const j = d.imm[i]!;
          cur[j >>> 5]! |= 1 << (j & 31);
          break;
        }
        case OP_LOCAL_SET: case OP_LOCAL_TEE: {
          const j = d.imm[i]!;
          cur[j >>> 5]! &= ~(1 << (j & 31));
          break;
        }
        default:
          break;
      }
    }
    if (top !== 0) return null;                       // only the function's frame is left
    if (!changed) return { words: W, sites, live };
  }
  return null;
}
