/**
 * Why: exit-kind.ts tells exit() from _exit() by the frames' names; a stripped release build has
 * none. wasi-libc's exit path has a recognisable shape instead: proc_exit is reached through
 * one-call forwarders (`__wasi_proc_exit`, `_Exit`: `local.get 0; call F; unreachable`), and
 * exit() is the function that first calls other functions (the atexit handlers, destructors,
 * stdio flush) and then ends in such a forwarder (`...; local.get 0; call _Exit; unreachable`).
 *
 * Invariants: pure; indices are the original module's function indices; only short bodies are
 * looked at (forwarders and exit() are a handful of instructions). A program function with
 * exit()'s exact shape is taken for exit(): the check then runs, as it did before this module.
 */
import { parseModule, walkInstructions } from '../wasm/binary/index.js';

export interface ExitShapes {
  /** Functions that only forward their argument towards proc_exit (wasi-libc's _Exit and co.). */
  forwarders: Set<number>;
  /**
   * Functions shaped like exit(): calls, then a forwarder with the argument; and the `_start`
   * export (older wasi-libc calls proc_exit from it when main returns non-zero).
   */
  exits: Set<number>;
}

const OP_UNREACHABLE = 0x00;
const OP_END = 0x0b;
const OP_CALL = 0x10;
const OP_LOCAL_GET = 0x20;
/** Bodies longer than this are neither forwarders nor exit(). */
const MAX_OPS = 24;

type Op = [op: number, index: number];

export function exitShapes(original: Uint8Array): ExitShapes {
  const m = parseModule(original);
  const forwarders = new Set<number>();
  let fi = 0;
  for (const imp of m.imports) {
    if (imp.kind !== 0) continue;
    if (imp.module === 'wasi_snapshot_preview1' && imp.name === 'proc_exit') forwarders.add(fi);
    fi++;
  }
  const exits = new Set<number>();
  if (forwarders.size === 0) return { forwarders, exits };
  const bodies = new Map<number, Op[]>();
  for (const b of m.bodies) {
    const ops: Op[] = [];
    try {
      walkInstructions(m.bytes, b.codeStart, b.end, (ins) => {
        if (ops.length > MAX_OPS) throw new RangeError('long');
        ops.push([ins.op, ins.index]);
      });
    } catch { continue; }
    bodies.set(b.index, ops);
  }
  // local.get 0; call F; [unreachable;] end, with F a forwarder: to a fixed point.
  for (let changed = true; changed; ) {
    changed = false;
    for (const [index, ops] of bodies) {
      if (forwarders.has(index) || !isForwarder(ops, forwarders)) continue;
      forwarders.add(index);
      changed = true;
    }
  }
  for (const [index, ops] of bodies) if (!forwarders.has(index) && isExit(ops, forwarders)) exits.add(index);
  for (const e of m.exports) if (e.kind === 0 && e.name === '_start') exits.add(e.index);
  return { forwarders, exits };
}

function tailCallsForwarder(ops: Op[], from: number, forwarders: Set<number>): boolean {
  const rest = ops.slice(from);
  const [g, c, u, e] = rest;
  if (!g || !c || g[0] !== OP_LOCAL_GET || g[1] !== 0 || c[0] !== OP_CALL || !forwarders.has(c[1])) return false;
  if (rest.length === 3) return u![0] === OP_END;
  return rest.length === 4 && u![0] === OP_UNREACHABLE && e![0] === OP_END;
}

function isForwarder(ops: Op[], forwarders: Set<number>): boolean {
  return tailCallsForwarder(ops, 0, forwarders);
}

function isExit(ops: Op[], forwarders: Set<number>): boolean {
  let i = 0;
  while (i < ops.length && ops[i]![0] === OP_CALL && !forwarders.has(ops[i]![1])) i++;
  return i > 0 && tailCallsForwarder(ops, i, forwarders);
}
