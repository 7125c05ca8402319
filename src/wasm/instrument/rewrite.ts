/**
 * The module rewriter: re-emits the original module with hook imports, allocator wrappers, the
 * depth and context globals, calling-context code, renumbered function references and extra
 * exports, and records the offset map.
 *
 * Why by hand (not binaryen): binaryen re-encodes every function, so no code offset V8 reports
 * would match the name section, DWARF or source maps of the original any more. Here original
 * bodies are copied in runs; only call/ref.func immediates (renumbered) and inserted
 * calling-context code differ, and the offset map records each run.
 *
 * Invariants:
 * - Function indices: imports [0, I) keep their index; the k hook imports take [I, I+k); original
 *   defined function f becomes f + k; wrappers follow all of them.
 * - After the wrappers come the entry trampolines (exports that may reach an allocator point to
 *   them) and the reset function.
 * - Every reference to a wrapped function F (call, return_call, ref.func, element segments,
 *   exports, global initializers) goes to W_F, except direct calls inside wrapped bodies (those
 *   only run inside a wrapper, at depth >= 1, so a wrapper would record nothing). F's body is
 *   otherwise copied unchanged.
 * - Globals are appended (no global index changes); types are appended (no type index changes).
 * - Custom sections other than "name" are copied byte-identical (DWARF describes the original
 *   offsets; the map translates).
 */
import {
  type WasmModule, type ConstExpr, type CallGraph, ByteReader, ByteWriter, Instr, decodeInstr,
  SEC_TYPE, SEC_IMPORT, SEC_FUNCTION, SEC_GLOBAL, SEC_EXPORT, SEC_START, SEC_ELEMENT, SEC_CODE, SEC_CUSTOM,
  SECTION_ORDER, KIND_FUNC, KIND_GLOBAL, KIND_MEMORY, I32, I64, funcType, functionCount, encodeNames, emptyNames,
} from '../binary/index.js';
import type { AllocatorEntry } from './allocators.js';
import { OffsetMapBuilder, type OffsetMap } from './offset-map.js';
import { callSiteHalves } from './pcc.js';
import { wrapperBody, trampolineBody, resetBody, knownBody, NO_WINDOW } from './wrappers.js';
import { FunctionSpill, MAX_SPILL_HELPER_PARAMS, spillHelperBody, type SpillPlan } from './spill.js';

export const HOOK_MODULE = '__kmemleak_hooks';
export const EXPORT_STACK_POINTER = '__kmemleak_stack_pointer';
export const EXPORT_DEPTH = '__kmemleak_depth';
export const EXPORT_CONTEXT = '__kmemleak_ctx';
export const EXPORT_MEMORY_FALLBACK = '__kmemleak_memory';
export const EXPORT_RESET = '__kmemleak_reset';
/** The event log's globals (fast path, see wrappers.ts and runtime/event-log.ts). */
export const EXPORT_LOG_POS = '__kmemleak_log_pos';
export const EXPORT_LOG_END = '__kmemleak_log_end';
export const EXPORT_KNOWN_BASE = '__kmemleak_known_base';
export const EXPORT_KNOWN_MASK = '__kmemleak_known_mask';
export const EXPORT_LOG_START = '__kmemleak_log_start';
/** The unwrapped malloc: the host takes the event log's memory from the program's own allocator. */
export const EXPORT_RAW_MALLOC = '__kmemleak_raw_malloc';

export type HookName = 'alloc' | 'free' | 'realloc' | 'flush';

export interface RewritePlan {
  m: WasmModule;
  graph: CallGraph;
  allocators: AllocatorEntry[];
  /** reach[f]: calls to f get calling-context code. Null when calling context is off. */
  reach: Uint8Array | null;
  stackPointerGlobal: number | null;
  /** Calls around which the caller's i32 locals are spilled to the shadow stack (spill.ts). */
  spills?: SpillPlan | null;
  /**
   * Functions the program defines for a leak checker to call (LeakSanitizer's
   * __lsan_default_options ...), exported under their own name: [name, original index].
   */
  exportFunctions?: ReadonlyArray<readonly [string, number]>;
}

export interface RewriteResult {
  binary: Uint8Array<ArrayBuffer>;
  map: OffsetMap;
  hooks: HookName[];
  /** New function index of each allocator's wrapper, parallel to plan.allocators. */
  wrappers: number[];
  exports: {
    memory: string; stackPointer: string | null; depth: string; context: string | null; reset: string;
    /** The event log's exported globals (null without the fast path). */
    eventLog: { pos: string; end: string; start: string; knownBase: string; knownMask: string; rawMalloc: string } | null;
  };
  /** Number of entry trampolines added (exports that may reach an allocator). */
  trampolines: number;
  instrumentedFunctions: number;
  instrumentedCallSites: number;
  /** Calls with their caller's locals spilled around them (spill.ts). */
  spillSites: number;
  /** Locals stored over all spill sites (only those live after the call: liveness.ts). */
  spilledLocals: number;
  depthGlobal: number;
  ctxGlobal: number;
}

const HOOK_TYPES: Record<HookName, number[]> = {
  alloc: [I32, I32, I32, I32],
  free: [I32, I32, I32],
  realloc: [I32, I32, I32, I32, I32],
  flush: [],
};

function sameType(a: { params: number[]; results: number[] }, params: number[], results: number[]): boolean {
  return a.params.length === params.length && a.results.length === results.length &&
    a.params.every((p, i) => p === params[i]) && a.results.every((r, i) => r === results[i]);
}

export function rewrite(plan: RewritePlan): RewriteResult {
  const { m, allocators, reach } = plan;
  const bytes = m.bytes;
  const I = m.importedFuncCount;
  const N = functionCount(m);

  // Hooks needed by the wrappers' shapes.
  const hookSet = new Set<HookName>();
  for (const a of allocators) {
    if (a.shape.kind === 'alloc' || a.shape.kind === 'posix_memalign') hookSet.add('alloc');
    if (a.shape.kind === 'free') hookSet.add('free');
    if (a.shape.kind === 'realloc') { hookSet.add('realloc'); hookSet.add('free'); }
  }
  // The event log (fast path) needs the calling context: its key is the context value.
  // The event log's memory comes from the allocator itself (any other place could be claimed by
  // it: wasi-libc's dlmalloc takes everything up to the memory's end at its first call), so the
  // fast path needs a malloc-shaped entry to call unwrapped.
  // Only the C library's own malloc (found by its name, not named by --allocator): it grows the
  // memory when it needs to, where a custom allocator may have a fixed arena the log would eat.
  const rawMalloc = allocators.find((a) => a.name === 'malloc' && a.source !== 'option');
  const fast = reach !== null && rawMalloc !== undefined && (hookSet.has('alloc') || hookSet.has('free'));
  if (fast) hookSet.add('flush');
  const hooks = (['alloc', 'free', 'realloc', 'flush'] as HookName[]).filter((h) => hookSet.has(h));
  const k = hooks.length;
  const hookIndex = (h: HookName): number => (hooks.indexOf(h) >= 0 ? I + hooks.indexOf(h) : -1);

  // Types: reuse identical ones, append the rest.
  const newTypes: Array<{ params: number[]; results: number[] }> = [];
  const typeOf = (params: number[], results: number[]): number => {
    const i = m.types.findIndex((t) => sameType(t, params, results));
    if (i >= 0) return i;
    const j = newTypes.findIndex((t) => sameType(t, params, results));
    if (j >= 0) return m.types.length + j;
    newTypes.push({ params, results });
    return m.types.length + newTypes.length - 1;
  };
  const hookTypes = hooks.map((h) => typeOf(HOOK_TYPES[h], []));

  // Function index maps.
  const shift = (f: number): number => (f < I ? f : f + k);
  const wrappers = allocators.map((_, j) => N + k + j);
  const redirect = new Int32Array(N);
  for (let f = 0; f < N; f++) redirect[f] = shift(f);
  const wrappedBody = new Uint8Array(N);
  allocators.forEach((a, j) => {
    redirect[a.index] = wrappers[j]!;
    wrappedBody[a.index] = 1;
  });
  const ref = (f: number): number => (f < N ? redirect[f]! : f);

  // Entry trampolines (calling context only): the host may call an export long after the last
  // call site set CTX; a stale CTX would make this new path look like an old one. A trampoline
  // zeroes CTX when no wasm frame is live (entry level 0) and keeps it on re-entry from an
  // import (the import's call site set it, so the outer frames are part of the path).
  const firstTrampoline = N + k + allocators.length;
  const trampolineTargets: number[] = []; // original indices
  const trampolineOf = new Map<number, number>(); // new target index -> trampoline index
  const extraExports = plan.exportFunctions ?? [];
  if (reach) {
    const exported = [...m.exports.filter((e) => e.kind === KIND_FUNC).map((e) => e.index), ...extraExports.map((e) => e[1])];
    for (const index of exported) {
      if (index >= N || !reach[index]) continue;
      const t = ref(index);
      if (trampolineOf.has(t)) continue;
      trampolineOf.set(t, firstTrampoline + trampolineTargets.length);
      trampolineTargets.push(index);
    }
  }
  const resetFunction = firstTrampoline + trampolineTargets.length;
  const resetType = typeOf([], []);
  const knownFunction = fast ? resetFunction + 1 : -1;
  const knownType = fast ? typeOf([I64], [I32]) : -1;
  // Spill helpers (spill.ts): one function per number of i32 locals a spilling function has,
  // which takes them as arguments and stores them in the slot, so that a spill site is that many
  // local.gets and a call instead of a load, a store and their operands per local.
  const spillOf = new Map<number, FunctionSpill>();
  if (plan.spills) {
    for (const b of m.bodies) {
      const f = b.index;
      if (wrappedBody[f] === 1) continue;
      let any = plan.graph.indirect[f] === 1;
      for (let i = plan.graph.offsets[f]!; !any && i < plan.graph.offsets[f + 1]!; i++) if (plan.spills.reaches[plan.graph.callees[i]!]) any = true;
      if (any) spillOf.set(f, new FunctionSpill(plan.spills, m, f));
    }
  }
  const helperCounts = [...new Set([...spillOf.values()].flatMap((sp) => sp.siteLocals.map((l) => l.length)))]
    .filter((n) => n > 0 && n <= MAX_SPILL_HELPER_PARAMS).sort((a, b) => a - b);
  const firstSpillHelper = (fast ? knownFunction : resetFunction) + 1;
  const spillHelpers = new Map(helperCounts.map((n, j) => [n, firstSpillHelper + j]));
  const spillHelperTypes = helperCounts.map((n) => typeOf(new Array<number>(n).fill(I32), []));
  for (const sp of spillOf.values()) sp.helpers = spillHelpers;
  const exportTarget = (f: number): number => {
    const t = ref(f);
    return trampolineOf.get(t) ?? t;
  };

  // Globals appended.
  const totalGlobals = m.importedGlobalCount + m.globals.length;
  const depthGlobal = totalGlobals;
  const ctxGlobal = reach ? totalGlobals + 1 : -1;
  const levelGlobal = reach ? totalGlobals + 2 : -1;
  const logPosGlobal = fast ? totalGlobals + 3 : -1;
  const logEndGlobal = fast ? totalGlobals + 4 : -1;
  const knownBaseGlobal = fast ? totalGlobals + 5 : -1;
  const knownMaskGlobal = fast ? totalGlobals + 6 : -1;
  const logStartGlobal = fast ? totalGlobals + 7 : -1;
  // Each wrapper's one-entry cache of known() (wrappers.ts): last context (i64), its handle (i32).
  const cacheGlobal = (j: number): number => (fast ? totalGlobals + 8 + 2 * j : -1);

  const out = new ByteWriter(bytes.length + 4096 + allocators.length * 128);
  out.bytes(bytes, 0, 8);
  const emitSection = (id: number, content: ByteWriter | Uint8Array): number => {
    const c = content instanceof ByteWriter ? content.view() : content;
    out.u8(id);
    out.u32(c.length);
    const at = out.len;
    out.bytes(c);
    return at;
  };

  const present = new Set(m.sections.filter((s) => s.id !== SEC_CUSTOM).map((s) => s.id));
  const needed = [SEC_TYPE, SEC_IMPORT, SEC_FUNCTION, SEC_GLOBAL, SEC_EXPORT, SEC_CODE];
  const emitted = new Set<number>();

  let map: OffsetMap | null = null;
  let instrumentedFunctions = 0;
  let instrumentedCallSites = 0;
  let spillSites = 0;
  let spilledLocals = 0;
  let exportNames: RewriteResult['exports'] = {
    memory: 'memory', stackPointer: null, depth: EXPORT_DEPTH, context: null, reset: EXPORT_RESET, eventLog: null,
  };

  const sectionContent = (id: number): { start: number; end: number } | null => {
    const s = m.sections.find((x) => x.id === id);
    return s ? { start: s.contentStart, end: s.end } : null;
  };

  /** Copies a vector section's items after its count, appending `extra` items. */
  const vecSection = (id: number, extraCount: number, extra: (w: ByteWriter) => void): ByteWriter => {
    const w = new ByteWriter(1024);
    const c = sectionContent(id);
    if (c) {
      const r = new ByteReader(bytes, c.start, c.end);
      const n = r.u32();
      w.u32(n + extraCount);
      w.bytes(bytes, r.pos, c.end);
    } else {
      w.u32(extraCount);
    }
    extra(w);
    return w;
  };

  const ins = new Instr();
  /** Copies a constant expression, renumbering ref.func. */
  const constExpr = (w: ByteWriter, e: ConstExpr): void => {
    const r = new ByteReader(bytes, e.start, e.end);
    let from = e.start;
    while (r.pos < e.end) {
      decodeInstr(r, ins);
      if (ins.op === 0xd2) {
        w.bytes(bytes, from, ins.start);
        w.u8(0xd2);
        w.u32(ref(ins.index));
        from = ins.end;
      }
    }
    w.bytes(bytes, from, e.end);
  };

  const emitKnown = (id: number): void => {
    emitted.add(id);
    switch (id) {
      case SEC_TYPE: {
        emitSection(id, vecSection(id, newTypes.length, (w) => {
          for (const t of newTypes) {
            w.u8(0x60);
            w.u32(t.params.length);
            for (const p of t.params) w.u8(p);
            w.u32(t.results.length);
            for (const p of t.results) w.u8(p);
          }
        }));
        break;
      }
      case SEC_IMPORT: {
        emitSection(id, vecSection(id, k, (w) => {
          hooks.forEach((h, i) => {
            w.name(HOOK_MODULE);
            w.name(h);
            w.u8(KIND_FUNC);
            w.u32(hookTypes[i]!);
          });
        }));
        break;
      }
      case SEC_FUNCTION: {
        emitSection(id, vecSection(id, allocators.length + trampolineTargets.length + 1 + (fast ? 1 : 0) + helperCounts.length, (w) => {
          for (const a of allocators) w.u32(funcTypeIndexOf(m, a.index));
          for (const f of trampolineTargets) w.u32(funcTypeIndexOf(m, f));
          w.u32(resetType);
          if (fast) w.u32(knownType);
          for (const t of spillHelperTypes) w.u32(t);
        }));
        break;
      }
      case SEC_GLOBAL: {
        const w = new ByteWriter(256);
        w.u32(m.globals.length + (reach ? 3 : 1) + (fast ? 5 + 2 * allocators.length : 0));
        for (const g of m.globals) {
          w.bytes(bytes, g.start, g.init.start); // value type and mutability, verbatim
          constExpr(w, g.init);
        }
        w.u8(I32); w.u8(1); w.u8(0x41); w.s32(0); w.u8(0x0b);
        if (reach) {
          w.u8(I64); w.u8(1); w.u8(0x42); w.s64(0n); w.u8(0x0b);
          w.u8(I32); w.u8(1); w.u8(0x41); w.s32(0); w.u8(0x0b);
        }
        if (fast) {
          // pos, end, knownBase, knownMask: 0; start: NO_WINDOW until the host sets the log up
          // (a free's wrapper reads the recent-allocation table before it knows the context).
          for (let i = 0; i < 5; i++) { w.u8(I32); w.u8(1); w.u8(0x41); w.s32(i === 4 ? NO_WINDOW : 0); w.u8(0x0b); }
          for (let j = 0; j < allocators.length; j++) {
            w.u8(I64); w.u8(1); w.u8(0x42); w.s64(0n); w.u8(0x0b);
            w.u8(I32); w.u8(1); w.u8(0x41); w.s32(-1); w.u8(0x0b);
          }
        }
        emitSection(id, w);
        break;
      }
      case SEC_EXPORT: {
        const w = new ByteWriter(512);
        const names = new Set(m.exports.map((e) => e.name));
        const extra: Array<[string, number, number]> = [];
        const fresh = (want: string): string => {
          let name = want;
          for (let i = 2; names.has(name); i++) name = `${want}_${i}`;
          names.add(name);
          return name;
        };
        const memExport = m.exports.find((e) => e.kind === KIND_MEMORY && e.index === 0);
        let memory = memExport?.name ?? '';
        if (!memExport) {
          memory = names.has('memory') ? fresh(EXPORT_MEMORY_FALLBACK) : fresh('memory');
          extra.push([memory, KIND_MEMORY, 0]);
        }
        let stackPointer: string | null = null;
        if (plan.stackPointerGlobal !== null) {
          stackPointer = fresh(EXPORT_STACK_POINTER);
          extra.push([stackPointer, KIND_GLOBAL, plan.stackPointerGlobal]);
        }
        const depth = fresh(EXPORT_DEPTH);
        extra.push([depth, KIND_GLOBAL, depthGlobal]);
        let context: string | null = null;
        if (reach) {
          context = fresh(EXPORT_CONTEXT);
          extra.push([context, KIND_GLOBAL, ctxGlobal]);
        }
        for (const [name, index] of extraExports) {
          if (!names.has(name)) extra.push([fresh(name), KIND_FUNC, exportTarget(index)]);
        }
        const reset = fresh(EXPORT_RESET);
        extra.push([reset, KIND_FUNC, resetFunction]);
        let eventLog: RewriteResult['exports']['eventLog'] = null;
        if (fast) {
          eventLog = { pos: fresh(EXPORT_LOG_POS), end: fresh(EXPORT_LOG_END), start: fresh(EXPORT_LOG_START), knownBase: fresh(EXPORT_KNOWN_BASE), knownMask: fresh(EXPORT_KNOWN_MASK), rawMalloc: fresh(EXPORT_RAW_MALLOC) };
          extra.push([eventLog.rawMalloc, KIND_FUNC, shift(rawMalloc!.index)]);
          extra.push([eventLog.pos, KIND_GLOBAL, logPosGlobal], [eventLog.end, KIND_GLOBAL, logEndGlobal], [eventLog.start, KIND_GLOBAL, logStartGlobal],
            [eventLog.knownBase, KIND_GLOBAL, knownBaseGlobal], [eventLog.knownMask, KIND_GLOBAL, knownMaskGlobal]);
        }
        exportNames = { memory, stackPointer, depth, context, reset, eventLog };
        w.u32(m.exports.length + extra.length);
        for (const e of m.exports) {
          w.name(e.name);
          w.u8(e.kind);
          w.u32(e.kind === KIND_FUNC ? exportTarget(e.index) : e.index);
        }
        for (const [name, kind, index] of extra) {
          w.name(name);
          w.u8(kind);
          w.u32(index);
        }
        emitSection(id, w);
        break;
      }
      case SEC_START: {
        const w = new ByteWriter(8);
        w.u32(ref(m.start!));
        emitSection(id, w);
        break;
      }
      case SEC_ELEMENT: {
        const w = new ByteWriter(1024);
        w.u32(m.elements.length);
        for (const e of m.elements) {
          w.u32(e.flags);
          if (e.mode === 'active') {
            if (e.flags & 2) w.u32(e.table);
            constExpr(w, e.offset!);
          }
          if (e.funcIndices) {
            if (e.flags & 3) w.u8(e.type);
            w.u32(e.funcIndices.length);
            for (const f of e.funcIndices) w.u32(ref(f));
          } else {
            if (e.flags & 3) {
              // the reference type sits after the offset (active) or the flags, verbatim
              const typeStart = e.mode === 'active' ? e.offset!.end : afterLeb(bytes, e.start);
              w.bytes(bytes, typeStart, refTypeEnd(bytes, typeStart));
            }
            w.u32(e.exprs!.length);
            for (const x of e.exprs!) constExpr(w, x);
          }
        }
        emitSection(id, w);
        break;
      }
      case SEC_CODE: {
        const res = emitCode();
        instrumentedFunctions = res.functions;
        instrumentedCallSites = res.sites;
        break;
      }
    }
  };

  const emitCode = (): { functions: number; sites: number } => {
    const cw = new ByteWriter(bytes.length + 1024);
    const mapB = new OffsetMapBuilder();
    const body = new ByteWriter(4096);
    const bodyMap = new OffsetMapBuilder();
    const cs = new Uint32Array(2);
    const g = plan.graph;
    cw.u32(m.bodies.length + allocators.length + trampolineTargets.length + 1 + (fast ? 1 : 0) + helperCounts.length);
    let functions = 0;
    let sites = 0;
    const mem64 = false;
    for (const b of m.bodies) {
      body.len = 0;
      const f = b.index;
      const isWrapped = wrappedBody[f] === 1;
      const t = funcType(m, f)!;
      // Calling-context code where some call may reach an allocator (from the call graph's edges).
      let pcc = false;
      if (reach && !isWrapped && reach[f]) {
        pcc = g.indirect[f] === 1;
        for (let i = g.offsets[f]!; !pcc && i < g.offsets[f + 1]!; i++) if (reach[g.callees[i]!]) pcc = true;
      }
      const saved = t.params.length + b.localCount;
      const spill: FunctionSpill | null = spillOf.get(f) ?? null;
      // locals
      bodyMap.linear(0, b.bodyStart);
      if (pcc) {
        const r = new ByteReader(bytes, b.bodyStart, b.codeStart);
        const groups = r.u32();
        body.u32(groups + 1);
        body.bytes(bytes, r.pos, b.codeStart);
        bodyMap.inserted(body.len, b.codeStart);
        body.u32(1);
        body.u8(I64);
        // entry: saved = ctx * 3
        body.u8(0x23); body.u32(ctxGlobal);
        body.u8(0x42); body.s64(3n);
        body.u8(0x7e);
        body.u8(0x21); body.u32(saved);
        functions++;
      } else {
        body.bytes(bytes, b.bodyStart, b.codeStart);
      }
      let from = b.codeStart;
      const flush = (upto: number): void => {
        if (upto > from) {
          bodyMap.linear(body.len, from);
          body.bytes(bytes, from, upto);
        }
        from = upto;
      };
      const r = new ByteReader(bytes, b.codeStart, b.end);
      r.what = 'function body';
      while (r.pos < b.end) {
        decodeInstr(r, ins, mem64);
        const op = ins.op;
        const isCall = op === 0x10 || op === 0x12;
        const isIndirect = op === 0x11 || op === 0x13 || op === 0x14 || op === 0x15;
        if (pcc && ((isCall && reach![ins.index]) || isIndirect)) {
          flush(ins.start);
          bodyMap.inserted(body.len, ins.start);
          body.u8(0x20); body.u32(saved);
          callSiteHalves(ins.start, cs);
          body.u8(0x42); body.s64Halves(cs[0]!, cs[1]!);
          body.u8(0x7c);
          body.u8(0x24); body.u32(ctxGlobal);
          sites++;
        }
        const spillSite = spill === null ? -1 : spill.siteAt(ins.start);
        if (spillSite >= 0) {
          flush(ins.start);
          bodyMap.inserted(body.len, ins.start);
          spill!.save(body, spillSite);
          spillSites++;
          spilledLocals += spill!.siteLocals[spillSite]!.length;
        }
        if (isCall || op === 0xd2) {
          const target = isCall && isWrapped ? shift(ins.index) : ref(ins.index);
          flush(ins.start);
          bodyMap.linear(body.len, ins.start);
          body.u8(op);
          body.u32Padded(target, ins.end - ins.immStart);
          from = ins.end;
        }
        if (spillSite >= 0) {
          // The restore precedes the next instruction and stands for it (the call keeps its own
          // offset: a frame stopped in the callee reads as the call).
          flush(ins.end);
          bodyMap.inserted(body.len, ins.end);
          spill!.restore(body, spillSite);
        }
      }
      flush(b.end);
      // place the body: size prefix, then content
      cw.u32(body.len);
      const at = cw.len;
      cw.bytes(body.view());
      mapB.appendFrom(bodyMap, at);
      bodyMap.clear();
    }
    const mappedEnd = cw.len;
    allocators.forEach((a, j) => {
      const t = funcType(m, a.index)!;
      const wb = wrapperBody(a.shape, t.params.length, t.results.length === 1, {
        target: shift(a.index),
        depthGlobal,
        ctxGlobal,
        hookAlloc: hookIndex('alloc'),
        hookFree: hookIndex('free'),
        hookRealloc: hookIndex('realloc'),
        known: knownFunction,
        cacheCtxGlobal: cacheGlobal(j),
        cacheHandleGlobal: fast ? cacheGlobal(j) + 1 : -1,
        knownBase: knownBaseGlobal,
        logPos: logPosGlobal,
        logEnd: logEndGlobal,
        logStart: logStartGlobal,
        hookFlush: hookIndex('flush'),
      });
      cw.u32(wb.length);
      cw.bytes(wb);
    });
    for (const f of trampolineTargets) {
      const t = funcType(m, f)!;
      const tb = trampolineBody(t.params.length, ref(f), ctxGlobal, levelGlobal);
      cw.u32(tb.length);
      cw.bytes(tb);
    }
    const rb = resetBody(depthGlobal, ctxGlobal, levelGlobal);
    cw.u32(rb.length);
    cw.bytes(rb);
    if (fast) {
      const kb = knownBody(knownBaseGlobal, knownMaskGlobal);
      cw.u32(kb.length);
      cw.bytes(kb);
    }
    for (const n of helperCounts) {
      const hb = spillHelperBody(n, plan.spills!.stackPointerGlobal);
      cw.u32(hb.length);
      cw.bytes(hb);
    }
    out.u8(SEC_CODE);
    out.u32(cw.len);
    const base = out.len;
    out.bytes(cw.view());
    mapB.rebase(base);
    map = mapB.build(base, base + mappedEnd);
    return { functions, sites };
  };

  const emitCustom = (s: { start: number; end: number; name?: string }): void => {
    if (s.name === 'name' && m.names) {
      const names = m.names;
      const nn = emptyNames();
      nn.module = names.module;
      for (const [i, v] of names.functions) nn.functions.set(shift(i), v);
      hooks.forEach((h, i) => nn.functions.set(I + i, `kmemleak_hook_${h}`));
      allocators.forEach((a, j) => {
        const base = names.functions.get(a.index) ?? a.name;
        nn.functions.set(wrappers[j]!, `kmemleak_wrap_${base}`);
      });
      trampolineTargets.forEach((f, j) => {
        nn.functions.set(firstTrampoline + j, `kmemleak_entry_${names.functions.get(f) ?? f}`);
      });
      nn.functions.set(resetFunction, 'kmemleak_reset');
      if (fast) {
        nn.functions.set(knownFunction, 'kmemleak_known_context');
      }
      helperCounts.forEach((n, j) => nn.functions.set(firstSpillHelper + j, `kmemleak_spill_${n}`));
      for (const [i, v] of names.locals) nn.locals.set(shift(i), v);
      for (const [i, v] of names.labels) nn.labels.set(shift(i), v);
      nn.types = names.types;
      nn.tables = names.tables;
      nn.memories = names.memories;
      nn.globals = new Map(names.globals);
      nn.globals.set(depthGlobal, EXPORT_DEPTH);
      if (reach) {
        nn.globals.set(ctxGlobal, EXPORT_CONTEXT);
        nn.globals.set(levelGlobal, '__kmemleak_entry_level');
      }
      if (fast) {
        nn.globals.set(logPosGlobal, EXPORT_LOG_POS);
        nn.globals.set(logEndGlobal, EXPORT_LOG_END);
        nn.globals.set(knownBaseGlobal, EXPORT_KNOWN_BASE);
        nn.globals.set(knownMaskGlobal, EXPORT_KNOWN_MASK);
        nn.globals.set(logStartGlobal, EXPORT_LOG_START);
        allocators.forEach((a, j) => {
          const base = names.functions.get(a.index) ?? a.name;
          nn.globals.set(cacheGlobal(j), `__kmemleak_cache_ctx_${base}`);
          nn.globals.set(cacheGlobal(j) + 1, `__kmemleak_cache_handle_${base}`);
        });
      }
      nn.elements = names.elements;
      nn.data = names.data;
      nn.tags = names.tags;
      nn.other = names.other;
      const content = encodeNames(nn, bytes);
      const w = new ByteWriter(content.length + 8);
      w.name('name');
      w.bytes(content);
      emitSection(SEC_CUSTOM, w);
      return;
    }
    out.bytes(bytes, s.start, s.end);
  };

  for (const s of m.sections) {
    if (s.id === SEC_CUSTOM) {
      emitCustom(s);
      continue;
    }
    const order = SECTION_ORDER[s.id]!;
    for (const id of needed) {
      if (!present.has(id) && !emitted.has(id) && SECTION_ORDER[id]! < order) emitKnown(id);
    }
    if (s.id === SEC_TYPE || s.id === SEC_IMPORT || s.id === SEC_FUNCTION || s.id === SEC_GLOBAL ||
      s.id === SEC_EXPORT || s.id === SEC_START || s.id === SEC_ELEMENT || s.id === SEC_CODE) {
      emitKnown(s.id);
    } else {
      out.bytes(bytes, s.start, s.end);
    }
  }
  for (const id of needed) if (!emitted.has(id)) emitKnown(id);

  return {
    binary: out.result(),
    map: map!,
    hooks,
    wrappers,
    exports: exportNames,
    trampolines: trampolineTargets.length,
    instrumentedFunctions,
    instrumentedCallSites,
    spillSites,
    spilledLocals,
    depthGlobal,
    ctxGlobal,
  };
}

function funcTypeIndexOf(m: WasmModule, f: number): number {
  if (f >= m.importedFuncCount) return m.functions[f - m.importedFuncCount]!;
  let k = 0;
  for (const imp of m.imports) {
    if (imp.kind !== KIND_FUNC) continue;
    if (k === f) return imp.typeIndex;
    k++;
  }
  return 0;
}

function afterLeb(bytes: Uint8Array, at: number): number {
  while (bytes[at]! & 0x80) at++;
  return at + 1;
}

function refTypeEnd(bytes: Uint8Array, typeStart: number): number {
  const r = new ByteReader(bytes, typeStart, bytes.length);
  const b = r.u8();
  if (b === 0x63 || b === 0x64) r.s33();
  return r.pos;
}
