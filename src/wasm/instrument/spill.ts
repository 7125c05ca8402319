/**
 * Live locals as roots where a scan can see the program stopped: around every call that can
 * reach `proc_exit` (the exit scan), a blocking WASI call (the scans at a wait:
 * runtime/waits/blocking-wasi.ts) or kmemleak's own `scan` import, the caller's i32 locals are
 * stored in a spill slot on the shadow stack, which every scan covers from the stack pointer up.
 *
 * Why: wasm locals are invisible to any host. Optimised code keeps pointers in locals, so a block
 * held only by a local of a frame below `exit()` or below a read of stdin looked unreferenced
 * (a program's exit status became kmemleak's 23 for a block LeakSanitizer calls reachable).
 * Calls that can reach those targets are few and never in an allocation loop, so the cost stays
 * there (bench/RESULTS.md, "Live locals").
 *
 * The code around such a call (`call` or `call_indirect`; a tail call leaves no frame to keep):
 *   before: SP -= S; for each i32 local j (params included): i32.store [SP + 4j] = local
 *   after:  SP += S
 * where `before` is a call of the spill helper for that many locals, with the locals as its
 * arguments (one function per count, spillHelperBody): a site then costs 2 bytes a local, not ~7,
 * and V8's optimising compiler one call instead of a load and a store per local (sqlite: 9,402
 * sites; inline, its largest function tripled and took TurboFan 1.3 s and 20 MB:
 * bench/RESULTS.md, "Fixed costs"). A function with more than MAX_SPILL_HELPER_PARAMS locals
 * stores them inline.
 * with SP the shadow-stack pointer global and S the slot size rounded up to 16 (the ABI's stack
 * alignment). The callee's own frame goes below the slot. The arguments already on the operand
 * stack are not touched: the inserted code pushes and pops only its own values. A callee that
 * never returns (proc_exit) leaves the slot in place, which is the point: the exit scan reads the
 * stack pointer inside proc_exit.
 *
 * Which calls: a function reaches a target through direct calls, or through a call_indirect
 * whose type (compared by signature) is the type of a table function that reaches one; computed
 * to a fixed point. Every i32 local is stored, live or not (no liveness analysis): a dead local
 * still holding an old pointer can hide a leak at that moment, as a stale register can for
 * LeakSanitizer.
 *
 * Invariants: nothing is inserted when the module has no stack pointer or no target import; the
 * program's results, memory outside its own free stack space, and control flow are unchanged.
 */
import {
  type WasmModule, type CallGraph, type FuncType, ByteWriter, Instr, I32, canReach, funcType, funcTypeIndex,
  functionCount, walkInstructions, KIND_FUNC,
} from '../binary/index.js';

/** The imports a scan can happen inside: the exit, the waits, and the program's own scan call. */
export const SPILL_TARGETS: Record<string, readonly string[]> = {
  wasi_snapshot_preview1: ['proc_exit', 'poll_oneoff', 'fd_read', 'sock_accept', 'sock_recv', 'sched_yield'],
  kmemleak: ['scan'],
};

export interface SpillPlan {
  /** reaches[f] (original function index): calls to f are spill sites. */
  reaches: Uint8Array;
  /** Canonical signatures whose call_indirect sites are spill sites. */
  indirectSignatures: Set<string>;
  stackPointerGlobal: number;
}

const signature = (t: FuncType | undefined | null): string => (t ? `${t.params.join(',')}>${t.results.join(',')}` : '?');

/** Imported function indices of SPILL_TARGETS in m. */
function targetImports(m: WasmModule): number[] {
  const out: number[] = [];
  let f = 0;
  for (const imp of m.imports) {
    if (imp.kind !== KIND_FUNC) continue;
    if (SPILL_TARGETS[imp.module]?.includes(imp.name)) out.push(f);
    f++;
  }
  return out;
}

/** Functions that may be called through a table (element segments, ref.func excluded). */
function tableFunctions(m: WasmModule): number[] {
  const out: number[] = [];
  for (const e of m.elements) if (e.funcIndices) out.push(...e.funcIndices);
  return out;
}

/** Which functions reach a target, and which indirect call signatures may; null: nothing to do. */
export function planSpills(m: WasmModule, g: CallGraph, stackPointerGlobal: number | null): SpillPlan | null {
  if (stackPointerGlobal === null) return null;
  const targets = targetImports(m);
  if (targets.length === 0) return null;
  const N = functionCount(m);
  // Signatures of each function's indirect calls (call_indirect, return_call_indirect).
  const indirectSigs = new Map<number, Set<string>>();
  for (const b of m.bodies) {
    if (!g.indirect[b.index]) continue;
    const sigs = new Set<string>();
    walkInstructions(m.bytes, b.codeStart, b.end, (ins) => {
      if (ins.op === 0x11 || ins.op === 0x13) sigs.add(signature(m.types[ins.index]));
    }, false);
    indirectSigs.set(b.index, sigs);
  }
  const table = tableFunctions(m);
  const reachingSigs = new Set<string>();
  let reaches = canReach(g, targets, false);
  for (;;) {
    let grew = false;
    for (const f of table) {
      if (f < N && reaches[f]) {
        const s = signature(m.types[funcTypeIndex(m, f)]);
        if (!reachingSigs.has(s)) { reachingSigs.add(s); grew = true; }
      }
    }
    if (!grew) break;
    const sources: number[] = [];
    for (const [f, sigs] of indirectSigs) for (const s of sigs) if (reachingSigs.has(s)) { sources.push(f); break; }
    reaches = canReach(g, targets, false, sources);
  }
  return { reaches, indirectSignatures: reachingSigs, stackPointerGlobal };
}

/**
 * The most i32 locals a spill helper takes as arguments (V8's limit on a wasm function's
 * parameters); a function with more stores them inline.
 */
export const MAX_SPILL_HELPER_PARAMS = 1000;

/** A function's slot size for n i32 locals: rounded up to 16 (the ABI's stack alignment). */
const slotBytes = (n: number): number => (n * 4 + 15) & ~15;

/**
 * The spill helper for n i32 locals, `(param i32 x n)`: SP -= slot; the arguments stored at
 * SP + 4j, in order. One per local count, shared by every function with that many.
 */
export function spillHelperBody(n: number, stackPointerGlobal: number): Uint8Array {
  const w = new ByteWriter(16 + 8 * n);
  const base = n;                       // the one local: the slot's address
  w.u32(1); w.u32(1); w.u8(I32);
  w.u8(0x23); w.u32(stackPointerGlobal);
  w.u8(0x41); w.s32(slotBytes(n));
  w.u8(0x6b);                           // i32.sub
  w.u8(0x22); w.u32(base);              // local.tee
  w.u8(0x24); w.u32(stackPointerGlobal);
  for (let j = 0; j < n; j++) {
    w.u8(0x20); w.u32(base);
    w.u8(0x20); w.u32(j);
    w.u8(0x36); w.u32(2); w.u32(4 * j);   // i32.store align=4 offset=4j
  }
  w.u8(0x0b);
  return w.result();
}

/** Spill code for one function: its i32 locals (params first), and the slot they take. */
export class FunctionSpill {
  readonly locals: number[] = [];
  readonly slot: number;
  /** The spill helper for this many locals (rewrite.ts adds it), or -1: the stores inline. */
  helper = -1;

  constructor(private readonly plan: SpillPlan, m: WasmModule, f: number) {
    const t = funcType(m, f);
    const params = t?.params ?? [];
    params.forEach((p, i) => { if (p === I32) this.locals.push(i); });
    const body = m.bodies[f - m.importedFuncCount];
    let next = params.length;
    for (const group of body?.locals ?? []) {
      for (let i = 0; i < group.count; i++, next++) if (group.type === I32) this.locals.push(next);
    }
    this.slot = slotBytes(this.locals.length);
  }

  /** Whether the instruction is a call to spill around. */
  isSite(m: WasmModule, ins: Instr): boolean {
    if (this.locals.length === 0) return false;
    if (ins.op === 0x10) return this.plan.reaches[ins.index] === 1;
    if (ins.op === 0x11) return this.plan.indirectSignatures.has(signature(m.types[ins.index]));
    return false;
  }

  /** SP -= slot; the locals stored at SP + 4j (by the helper, which gets them as arguments). */
  save(w: ByteWriter): void {
    if (this.helper >= 0) {
      for (const local of this.locals) { w.u8(0x20); w.u32(local); }
      w.u8(0x10); w.u32(this.helper);
      return;
    }
    const sp = this.plan.stackPointerGlobal;
    w.u8(0x23); w.u32(sp);
    w.u8(0x41); w.s32(this.slot);
    w.u8(0x6b);                       // i32.sub
    w.u8(0x24); w.u32(sp);
    this.locals.forEach((local, j) => {
      w.u8(0x23); w.u32(sp);
      w.u8(0x20); w.u32(local);
      w.u8(0x36); w.u32(2); w.u32(4 * j);   // i32.store align=4 offset=4j
    });
  }

  /** SP += slot. */
  restore(w: ByteWriter): void {
    const sp = this.plan.stackPointerGlobal;
    w.u8(0x23); w.u32(sp);
    w.u8(0x41); w.s32(this.slot);
    w.u8(0x6a);                       // i32.add
    w.u8(0x24); w.u32(sp);
  }
}
