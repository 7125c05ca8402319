/**
 * The direct-call graph of a module, in compressed arrays.
 *
 * Why: the rewriter asks "can this function reach an allocator?" (calling-context
 * instrumentation is only needed on such paths; C++/Rust allocation functions that reach malloc
 * need no wrapper of their own) and the static layout asks "which functions are reachable only
 * from the allocator's entry points?" (their static data is allocator-private state). Both are
 * graph walks over the same edges.
 *
 * Invariants: callees of f are callees[offsets[f] .. offsets[f+1]) (function indices, imports
 * first; imported functions have no edges). `indirect[f]` is 1 when f makes an indirect call
 * (call_indirect, return_call_indirect, call_ref, return_call_ref), whose target is unknown.
 */
import { walkInstructions } from './instructions.js';
import { memory0 } from './module.js';
import type { WasmModule } from './types.js';

export interface CallGraph {
  count: number;
  offsets: Uint32Array;
  callees: Uint32Array;
  indirect: Uint8Array;
}

export function callGraph(m: WasmModule): CallGraph {
  const count = m.importedFuncCount + m.functions.length;
  const offsets = new Uint32Array(count + 1);
  const indirect = new Uint8Array(count);
  let callees = new Uint32Array(1024);
  let n = 0;
  const mem64 = memory0(m)?.memory64 ?? false;
  for (let f = 0; f < count; f++) {
    offsets[f] = n;
    const body = m.bodies[f - m.importedFuncCount];
    if (!body) continue;
    walkInstructions(m.bytes, body.codeStart, body.end, (ins) => {
      const op = ins.op;
      if (op === 0x10 || op === 0x12) {
        if (n === callees.length) {
          const next = new Uint32Array(n * 2);
          next.set(callees);
          callees = next;
        }
        callees[n++] = ins.index;
      } else if (op === 0x11 || op === 0x13 || op === 0x14 || op === 0x15) {
        indirect[f] = 1;
      }
    }, mem64);
  }
  offsets[count] = n;
  return { count, offsets, callees: callees.slice(0, n), indirect };
}

/**
 * Marks every function reachable from `roots` through direct calls. Functions for which
 * `stop(f)` is true are marked but not entered.
 */
export function reachable(g: CallGraph, roots: Iterable<number>, stop?: (f: number) => boolean): Uint8Array {
  const seen = new Uint8Array(g.count);
  const stack: number[] = [];
  for (const r of roots) {
    if (r >= 0 && r < g.count && !seen[r]) {
      seen[r] = 1;
      stack.push(r);
    }
  }
  while (stack.length) {
    const f = stack.pop()!;
    if (stop && stop(f)) continue;
    for (let i = g.offsets[f]!; i < g.offsets[f + 1]!; i++) {
      const c = g.callees[i]!;
      if (!seen[c]) {
        seen[c] = 1;
        stack.push(c);
      }
    }
  }
  return seen;
}

/**
 * For each function, whether it can reach one of `targets` (or an indirect call, when
 * `indirectReaches`) through direct calls. Computed backwards over reversed edges.
 */
export function canReach(g: CallGraph, targets: Iterable<number>, indirectReaches: boolean,
  extraSources: Iterable<number> = []): Uint8Array {
  const revOff = new Uint32Array(g.count + 1);
  for (let i = 0; i < g.callees.length; i++) revOff[g.callees[i]! + 1]!++;
  for (let f = 0; f < g.count; f++) revOff[f + 1]! += revOff[f]!;
  const rev = new Uint32Array(g.callees.length);
  const fill = revOff.slice(0, g.count);
  for (let f = 0; f < g.count; f++) {
    for (let i = g.offsets[f]!; i < g.offsets[f + 1]!; i++) rev[fill[g.callees[i]!]!++] = f;
  }
  const out = new Uint8Array(g.count);
  const stack: number[] = [];
  const mark = (f: number): void => {
    if (f >= 0 && f < g.count && !out[f]) {
      out[f] = 1;
      stack.push(f);
    }
  };
  for (const t of targets) mark(t);
  for (const s of extraSources) mark(s);
  if (indirectReaches) for (let f = 0; f < g.count; f++) if (g.indirect[f]) mark(f);
  while (stack.length) {
    const f = stack.pop()!;
    for (let i = revOff[f]!; i < revOff[f + 1]!; i++) mark(rev[i]!);
  }
  return out;
}
