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
 *   before: SP -= S; for the k-th i32 local live after the call (params included; liveness.ts):
 *           i32.store [SP + 4k] = local
 *   after:  SP += S
 * where `before` is a call of the spill helper for that many locals, with the locals as its
 * arguments (one function per count, spillHelperBody): a site then costs 2 bytes a local, not ~7,
 * and V8's optimising compiler one call instead of a load and a store per local (sqlite: 9,402
 * sites; inline, its largest function tripled and took TurboFan 1.3 s and 20 MB:
 * bench/RESULTS.md, "Fixed costs"). A site with more than MAX_SPILL_HELPER_PARAMS live locals
 * stores them inline.
 * with SP the shadow-stack pointer global and S the slot size rounded up to 16 (the ABI's stack
 * alignment), per site; a site with no live i32 local has no spill code. The callee's own frame
 * goes below the slot. The arguments already on the operand
 * stack are not touched: the inserted code pushes and pops only its own values. A callee that
 * never returns (proc_exit) leaves the slot in place, which is the point: the exit scan reads the
 * stack pointer inside proc_exit.
 *
 * Which calls: a function reaches a target through direct calls, or through a call_indirect
 * whose type (compared by signature) is the type of a table function that reaches one; computed
 * to a fixed point. Which locals: the i32 locals live right after the call (some path reads them
 * before writing them; liveness.ts), all of them where the analysis is unsure, and all of them
 * at a call the compiler marked as never returning (`unreachable` after it: exit(), abort()),
 * where every local is dead yet a native frame still holds its pointers for LeakSanitizer's exit
 * check. A dead local can never be read again, so a block it alone references below a call that
 * returns is unreachable for the program: reporting it is right (LeakSanitizer may miss it, in a
 * stale register). Storing only the live ones cuts sqlite's spill work: bench/RESULTS.md,
 * "Spill liveness".
 *
 * Invariants: nothing is inserted when the module has no stack pointer or no target import; the
 * program's results, memory outside its own free stack space, and control flow are unchanged.
 */
import {
  type WasmModule, type CallGraph, type FuncType, ByteWriter, Instr, I32, canReach, funcType, funcTypeIndex,
  functionCount, walkInstructions, KIND_FUNC,
} from '../binary/index.js';
import { isLive, liveAtSites } from './liveness.js';

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
 * parameters); a site with more live ones stores them inline.
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

/**
 * Spill code for one function: its spill sites, each with the i32 locals live right after its
 * call (liveness.ts; all of them where the analysis is unsure), and the slot they take. A site
 * with no live i32 local is not a site.
 */
export class FunctionSpill {
  /** Each site's live i32 locals, in local order (params first). */
  readonly siteLocals: number[][] = [];
  /** Spill helpers by local count (rewrite.ts adds them); a count without one stores inline. */
  helpers: ReadonlyMap<number, number> = new Map();
  /** Site number by the call's offset (ins.start). */
  private readonly siteOf = new Map<number, number>();

  constructor(private readonly plan: SpillPlan, m: WasmModule, f: number) {
    const t = funcType(m, f);
    const params = t?.params ?? [];
    const i32: number[] = [];
    params.forEach((p, i) => { if (p === I32) i32.push(i); });
    const body = m.bodies[f - m.importedFuncCount];
    let next = params.length;
    for (const group of body?.locals ?? []) {
      for (let i = 0; i < group.count; i++, next++) if (group.type === I32) i32.push(next);
    }
    if (i32.length === 0 || !body) return;
    const isSite = (ins: Instr): boolean => this.isCallToSpillAround(m, ins);
    // A site whose call never returns (the compiler put `unreachable` after it: exit(), abort())
    // keeps every i32 local: nothing is live after it, yet a native frame there still holds its
    // pointers in registers or slots that LeakSanitizer's exit check scans (`p = malloc(n); ...;
    // exit(0)` is no leak for it at -O2, and none for us).
    const sites: number[] = [];
    const noReturn = new Set<number>();
    let afterSite = false;
    walkInstructions(m.bytes, body.codeStart, body.end, (ins) => {
      if (ins.op === 0x00 && afterSite) noReturn.add(sites[sites.length - 1]!);
      afterSite = isSite(ins);
      if (afterSite) sites.push(ins.start);
    }, false);
    // Null: unsure, every i32 local at every site, as before the analysis. (Its sites are these,
    // in the same body order.)
    const l = liveAtSites(m.bytes, body.codeStart, body.end, next, isSite);
    sites.forEach((at, k) => this.addSite(at, l === null || noReturn.has(at) ? i32 : i32.filter((j) => isLive(l, k, j))));
  }

  private addSite(at: number, locals: number[]): void {
    if (locals.length === 0) return;
    this.siteOf.set(at, this.siteLocals.length);
    this.siteLocals.push(locals);
  }

  /** Whether the instruction is a call that can reach a scan. */
  private isCallToSpillAround(m: WasmModule, ins: Instr): boolean {
    if (ins.op === 0x10) return this.plan.reaches[ins.index] === 1;
    if (ins.op === 0x11) return this.plan.indirectSignatures.has(signature(m.types[ins.index]));
    return false;
  }

  /** The site number of the instruction at this offset, or -1: not a spill site. */
  siteAt(start: number): number {
    return this.siteOf.get(start) ?? -1;
  }

  /** SP -= slot; the site's live locals stored at SP + 4j (by the helper, which gets them as arguments). */
  save(w: ByteWriter, site: number): void {
    const locals = this.siteLocals[site]!;
    const helper = this.helpers.get(locals.length);
    if (helper !== undefined) {
      for (const local of locals) { w.u8(0x20); w.u32(local); }
      w.u8(0x10); w.u32(helper);
      return;
    }
    const sp = this.plan.stackPointerGlobal;
    w.u8(0x23); w.u32(sp);
    w.u8(0x41); w.s32(slotBytes(locals.length));
    w.u8(0x6b);                       // i32.sub
    w.u8(0x24); w.u32(sp);
    locals.forEach((local, j) => {
      w.u8(0x23); w.u32(sp);
      w.u8(0x20); w.u32(local);
      w.u8(0x36); w.u32(2); w.u32(4 * j);   // i32.store align=4 offset=4j
    });
  }

  /** SP += the site's slot. */
  restore(w: ByteWriter, site: number): void {
    const sp = this.plan.stackPointerGlobal;
    w.u8(0x23); w.u32(sp);
    w.u8(0x41); w.s32(slotBytes(this.siteLocals[site]!.length));
    w.u8(0x6a);                       // i32.add
    w.u8(0x24); w.u32(sp);
  }
}
