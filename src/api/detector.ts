/**
 * Instantiation through the detector, for the embedding API: instrument the bytes (src/wasm/
 * instrument), build the engine and symbolizer, wire the allocator hooks and the `kmemleak`
 * annotation imports, instantiate with the host's imports, then bind memory, roots and the
 * export wrappers. This composes the other parts' exported functions; `kmemleak run` has its own
 * composition (src/wasm/runtime/run.ts) for WASI commands under Node.
 *
 * Invariants:
 * - The host's import object is never mutated: a merged copy is passed to WebAssembly.
 * - A module without an allocator the rewriter can find is not an error here: prepare() returns
 *   null and the caller instantiates it untouched (Emscripten side modules, helper modules).
 * - Frames are symbolized from the original binary; an unnamed function that the module exports
 *   takes its export name (release builds keep export names when they strip the name section).
 * - Automatic scans are vetoed while a wasm frame is live (canScan), and retried later.
 */
import { Kmemleak } from '../engine/index.js';
import { instrument, type Instrumented, type AllocatorOption, AllocatorNotFoundError } from '../wasm/instrument/index.js';
import { Symbolizer } from '../symbolize/index.js';
import type { Frame, TraceDescriber } from '../symbolize/frame.js';
import { AllocatorFrames, Backtraces } from '../wasm/runtime/backtraces.js';
import { annotationImports, ANNOTATION_MODULE } from '../wasm/runtime/annotations.js';
import { HookWiring } from '../wasm/runtime/hooks.js';
import { rootProvider } from '../wasm/runtime/roots.js';
import { readModuleInfo, KIND_FUNC, WASI_MODULE } from '../wasm/runtime/module-info.js';
import { RUN_DEFAULTS, traceDepthProblem } from '../wasm/runtime/options.js';
import { watchStartupArgs } from '../wasm/runtime/startup-args.js';
import { CallTracker } from './calls.js';
import { acquireEpoch, currentEpoch, releaseEpoch } from './epoch.js';
import { emscriptenAllocators } from './emscripten-allocators.js';
import { RootRegistry } from './roots.js';
import { KmemleakHandle } from './handle.js';
import { parseSuppressionOption } from './triage.js';
import { programSuppressions } from '../triage/program-suppressions.js';
import { apiStaticRoots, emscriptenStack, DEFAULT_STACK_SIZE } from './static-roots.js';
import { subtractRanges } from '../wasm/runtime/roots.js';
import { parseModule, funcType } from '../wasm/binary/index.js';
import { ThreadsMain, threadConfigs } from './threads/attach.js';

export interface DetectorOptions {
  /** Minimum age (ms) of objects reported by scans while the program runs. Default 5000. */
  minAgeMs?: number;
  /** Automatic scan period in seconds; 0 or 'off' disables. Default 600. */
  scan?: number | 'off';
  /** Delay of the first automatic scan in seconds. Default 60. */
  firstScan?: number;
  /** Scan the live shadow stack (stack=on). Default true. */
  stack?: boolean;
  /** kmemleak's messages (one line per call). Default console.error. */
  log?: (line: string) => void;
  /** Shown in "N new suspected memory leaks (see ...)". Default "kmemleak.read()". */
  reportLocation?: string;
  /** Explicit allocator entry points (names or function indices), as `--allocator`. */
  allocator?: AllocatorOption;
  /** Source map JSON text for the module (frames get file:line from it). */
  sourceMap?: string;
  /**
   * Loads the source map the module's sourceMappingURL section names (return its JSON text, or
   * null), e.g. `(url) => fetch(new URL(url, wasmUrl)).then((r) => r.text())`. Not called when
   * sourceMap is given.
   */
  loadSourceMap?: (url: string) => string | null | undefined | Promise<string | null | undefined>;
  /** The pid shown in reports. Default 1. */
  pid?: number;
  /** Size of the stack region (bytes) where the layout cannot be read from the module. Default 64 KiB. */
  stackSize?: number;
  /** Extra static root ranges [start, end) (e.g. a region the layout reader does not know). */
  extraRoots?: Array<[number, number]>;
  /**
   * Real names of minified exports (export name -> C name), as Emscripten's glue maps them;
   * kmemleak.emscripten() reads them from the glue. Used for the allocator, comm and frames.
   */
  exportAliases?: Record<string, string> | Map<string, string>;
  /**
   * Frames kept per allocation backtrace, a whole number 0..16 (`--trace-depth`). Default 16.
   * 0 turns stacks off: no stack is captured and leaks are reported without a backtrace.
   */
  traceDepth?: number;
  /**
   * LeakSanitizer suppressions (SPEC §7): the text of a suppressions file (`leak:PATTERN` lines),
   * or several. Suppressed objects are left out of leaks() and sites() counts them apart. A bad
   * line rejects instantiation with one line naming it. The program's own exported
   * `__lsan_default_suppressions` is read too.
   */
  suppressions?: string | readonly string[];
}

export interface Prepared {
  original: Uint8Array;
  instrumented: Instrumented;
  module: WebAssembly.Module;
  engine: Kmemleak;
  tracker: CallTracker;
  roots: RootRegistry;
  /** The host's imports plus ours (hooks, and `kmemleak` when the module imports it). */
  imports(host: WebAssembly.Imports | undefined): WebAssembly.Imports;
  /** After instantiation: memory, roots, wrapped exports. */
  bind(instance: WebAssembly.Instance, imports: WebAssembly.Imports): KmemleakHandle;
}

function exportNames(bytes: Uint8Array): Map<number, string> {
  const out = new Map<number, string>();
  try {
    for (const e of readModuleInfo(bytes, 'module').exports) {
      if (e.kind === KIND_FUNC && !out.has(e.index)) out.set(e.index, e.name);
    }
  } catch {
    /* unreadable exports: no fallback names */
  }
  return out;
}

/** Every export name of the original module (null when unreadable: then nothing is hidden). */
function ownExportNames(bytes: Uint8Array): { has(name: string): boolean } {
  try {
    return new Set(readModuleInfo(bytes, 'module').exports.map((e) => e.name));
  } catch {
    return { has: () => true };
  }
}

/** Names frames from the symbolizer, with export names for functions it cannot name. */
class FrameNamer {
  constructor(
    private readonly sym: Symbolizer,
    private readonly exported: Map<number, string>,
  ) {}
  frame(funcIndex: number, offset: number): Frame {
    const f = this.sym.frame(funcIndex, offset);
    if (f.function === null) {
      const e = this.exported.get(funcIndex);
      if (e !== undefined) f.function = e;
    }
    return f;
  }
  /** The functions inlined at that position (inline: true), innermost first, then frame(). */
  frames(funcIndex: number, offset: number): Frame[] {
    const fs = this.sym.frames(funcIndex, offset);
    const real = fs[fs.length - 1]!;
    if (real.function === null) {
      const e = this.exported.get(funcIndex);
      if (e !== undefined) real.function = e;
    }
    return fs;
  }
}

/**
 * Instruments and compiles; null when the module has no allocator to watch (the caller
 * instantiates it as it is). Malformed or unsupported modules throw a one-line Error.
 */
export async function prepare(original: Uint8Array, opts: DetectorOptions = {}, threaded = false): Promise<Prepared | null> {
  const traceDepth = opts.traceDepth ?? RUN_DEFAULTS.traceDepth;
  const badDepth = traceDepthProblem(traceDepth);
  if (badDepth) throw new Error(`traceDepth: ${badDepth}`);
  const optionSuppressions = parseSuppressionOption(opts.suppressions);
  let inst: Instrumented;
  const aliases = opts.exportAliases instanceof Map ? opts.exportAliases : new Map(Object.entries(opts.exportAliases ?? {}));
  const allocator = opts.allocator ?? emscriptenAllocators(original, aliases) ?? undefined;
  try {
    inst = instrument(original, allocator ? { allocator } : {});
  } catch (e) {
    if (e instanceof AllocatorNotFoundError && !opts.allocator) return null;
    throw new Error(e instanceof Error ? e.message.split('\n')[0] : String(e));
  }
  const sym = await Symbolizer.fromBinary(
    original,
    opts.sourceMap !== undefined ? { sourceMap: opts.sourceMap } : opts.loadSourceMap ? { loadSourceMap: opts.loadSourceMap } : {},
  );
  const exported = exportNames(original);
  for (const [i, n] of exported) exported.set(i, aliases.get(n) ?? n);
  const namer = new FrameNamer(sym, exported);
  const log = opts.log ?? ((l: string) => console.error(l));
  let tracker: CallTracker | null = null;
  let engineLog: (line: string) => void = log;
  const engine = new Kmemleak({
    ...(opts.minAgeMs !== undefined ? { minAgeMs: opts.minAgeMs } : {}),
    log: (line) => engineLog(line),
    reportLocation: opts.reportLocation ?? 'kmemleak.read()',
    stack: opts.stack ?? true,
    scanPeriodSecs: opts.scan === 'off' ? 0 : opts.scan ?? 600,
    firstScanSecs: opts.firstScan ?? 60,
    canScan: () => !(tracker?.inWasm ?? false),
  });
  const describer: TraceDescriber = {
    describe(trace: number): Frame[] {
      const w = engine.depot.frames(trace);
      const out: Frame[] = [];
      for (let i = 0; i + 1 < w.length; i += 2) for (const f of namer.frames(w[i]!, w[i + 1]!)) out.push(f);
      return out;
    },
  };
  engine.describer = describer;
  const pid = opts.pid ?? 1;
  const entry = new Set(inst.allocators.map((a) => a.index));
  const traces = new Backtraces(engine.depot, inst, new AllocatorFrames(namer, entry), traceDepth);
  let ctxGlobal: WebAssembly.Global | null = null;
  let depthGlobal: WebAssembly.Global | null = null;
  let lastComm = '';
  let lastEpoch = -1;
  tracker = new CallTracker(
    (comm, afterFault) => {
      // A call that ended by a trap leaves the rewriter's globals mid-update: reset them.
      if (afterFault) {
        if (ctxGlobal) ctxGlobal.value = 0n;
        if (depthGlobal) depthGlobal.value = 0;
      }
      // The clock is sampled when the host calls in after idle time (epoch.ts), so that the
      // allocations of this call are not stamped with an old time.
      if (comm !== lastComm) {
        lastComm = comm;
        lastEpoch = currentEpoch();
        engine.setContext(comm, pid);
      } else if (lastEpoch !== currentEpoch()) {
        lastEpoch = currentEpoch();
        engine.tick();
      }
    },
    (e) => log(`kmemleak: deferred scan failed: ${e instanceof Error ? e.message : String(e)}`),
  );
  for (const [exp, real] of aliases) tracker.rename(exp, real);
  // The runtime's hook wiring (shared with `kmemleak run`): min_count 0 for the C library's
  // start-up blocks (argv), warnings inside a hook followed by the caller's backtrace.
  const wiring = new HookWiring(
    engine,
    traces,
    inst.callingContext,
    () => {},
    (text) => {
      for (const line of text.split('\n')) if (line !== '') log(line);
    },
    (trace) => describer.describe(trace),
  );
  // A threaded module (shared memory): other threads log, the main thread replays (threads/).
  const threads = threaded ? new ThreadsMain({
    engine, events: wiring.events, traces, inst, traceDepth, pid,
    comm: () => t.comm, functionName: (i) => namer.frame(i, 0).function, log,
  }) : null;
  const hooks = threads ? threads.wrapHooks(wiring.imports(inst.hooks)) : wiring.imports(inst.hooks);
  engineLog = wiring.log;
  const annotations = annotationImports(engine, () => wiring.annotationTrace());
  const module = await WebAssembly.compile(inst.binary as BufferSource);
  const roots = new RootRegistry();
  const t = tracker;
  let boundMemory: WebAssembly.Memory | null = null;

  return {
    original,
    instrumented: inst,
    module,
    engine,
    tracker: t,
    roots,
    imports(host) {
      const merged: Record<string, unknown> = { ...((threads ? threads.wrapImports(host) : host) ?? {}) };
      merged[inst.hookModule] = hooks;
      // Stacks off: a WASI command's argv blocks are told by its argument calls (startup-args.ts).
      const wasi = merged[WASI_MODULE];
      if (traceDepth === 0 && wasi && typeof wasi === 'object') {
        merged[WASI_MODULE] = watchStartupArgs(wasi as Record<string, unknown>, (open) => wiring.startupWindow(open), () => boundMemory?.buffer ?? null);
      }
      if (!merged[ANNOTATION_MODULE] && WebAssembly.Module.imports(module).some((i) => i.module === ANNOTATION_MODULE)) {
        merged[ANNOTATION_MODULE] = annotations;
      }
      return merged as WebAssembly.Imports;
    },
    bind(instance, imports) {
      const raw = instance.exports as Record<string, unknown>;
      const memory = (raw[inst.exports.memory] ?? findImportedMemory(module, imports)) as WebAssembly.Memory | undefined;
      if (!(memory instanceof WebAssembly.Memory)) throw new Error('the instrumented module exposes no memory');
      boundMemory = memory;
      ctxGlobal = inst.exports.context ? (raw[inst.exports.context] as WebAssembly.Global) : null;
      depthGlobal = raw[inst.exports.depth] instanceof WebAssembly.Global ? (raw[inst.exports.depth] as WebAssembly.Global) : null;
      const sp = inst.exports.stackPointer ? (raw[inst.exports.stackPointer] as WebAssembly.Global | undefined) : undefined;
      const layout = apiStaticRoots(original, imports, [...entry], opts.stackSize ?? DEFAULT_STACK_SIZE);
      for (const n of layout.notes) log(`kmemleak: ${n}`);
      // Before any call the stack pointer is at the top of the stack.
      const stackTop = layout.stackTop ?? (sp ? Number(sp.value) >>> 0 : 0);
      const fixed = [...layout.ranges, ...(opts.extraRoots ?? [])];
      const emStack = emscriptenStack(instance.exports);
      const stack = sp ? { enabled: () => engine.stackEnabled, pointer: () => Number(sp.value) >>> 0, top: stackTop } : null;
      const size = () => memory.buffer.byteLength;
      let base = rootProvider(fixed, stack, size);
      let refined = emStack === null;
      // Never grown for the flood kernel's scratch: Emscripten's JavaScript keeps views of the
      // memory that only its own growth path refreshes. The kernel then needs a gap in the heap.
      engine.attachMemory(() => memory.buffer, { memory, mayGrow: false });
      // Blocks held from JS (registerRoot): counted as referenced through the engine's pointer
      // seam when it has one (addPointer), else made grey for good (not_leak) at the next scan.
      let seam = false;
      const heldFallback = new Set<number>();
      const holdFallback = (p: number) => {
        if (heldFallback.has(p)) return;
        heldFallback.add(p);
        const info = engine.dumpObject(p);
        const m = info ? /^Object 0x([0-9a-f]+) /.exec(info) : null;
        if (m) engine.notLeak(parseInt(m[1]!, 16));
      };
      const provider = (add: (s: number, e: number) => void, addPointer?: (p: number) => void) => {
        if (!refined) {
          // Emscripten's real stack region (known once its glue initialized the stack) is not
          // static data: only its live part is a root.
          const r = emStack!();
          if (r) {
            const pieces: Array<[number, number]> = [];
            for (const f of fixed) pieces.push(...subtractRanges(f, [r]));
            base = rootProvider(pieces, stack ? { ...stack, top: r[1] } : null, size);
            refined = true;
          }
        }
        base(add);
        threads?.addRoots(add);
        roots.forEachRange(add);
        if (addPointer) {
          seam = true;
          roots.forEachStart(addPointer);
        }
      };
      engine.setRootProvider(provider as (add: (s: number, e: number) => void) => void);
      // Emscripten's dynamic linker puts every export in the function table it imported; a table
      // holds wasm functions only, so the table gets the function behind each wrapper.
      for (const table of importedTables(module, imports)) t.guardTable(table);
      const sigs = exportSignatures(original);
      // Only the module's own exports: the ones the rewriter added (memory re-export, stack
      // pointer, depth, context) are the detector's, and glue code that walks the exports
      // (Emscripten's relocateExports) must not see them.
      const own = ownExportNames(original);
      const wrappedExports = t.wrapExports(instance.exports, (n) => sigs.get(n), (n) => own.has(n));
      acquireEpoch();
      const wrapped = Object.create(WebAssembly.Instance.prototype, {
        exports: { value: wrappedExports, enumerable: true },
      }) as WebAssembly.Instance;
      // The program's own suppressions: its function returns a C string (called once, unwrapped,
      // so comm stays the host's).
      const suppressions = [...optionSuppressions, ...programSuppressions(raw as WebAssembly.Exports, () => memory.buffer)];
      const threadConfig = threads ? threads.bind(memory) : null;
      const handle = new KmemleakHandle({
        engine,
        suppressions,
        tracker: t,
        roots,
        instance: wrapped,
        module,
        log,
        allocators: inst.allocators.map((a) => a.name),
        memory,
        onClose: releaseEpoch,
        relocatable: WebAssembly.Module.customSections(module, 'dylink.0').length > 0,
        hold: (p) => {
          if (!seam) holdFallback(p);
        },
        release: (p) => {
          if (heldFallback.delete(p)) {
            log('kmemleak: unregisterRoot: this engine cannot count JS-held pointers, so the block stays referenced');
          }
        },
        ...(threads ? { sync: () => threads.collector?.drain() } : {}),
      });
      if (threadConfig) threadConfigs.set(handle, threadConfig);
      return handle;
    },
  };
}

const SIG_CHAR: Record<number, string> = { 0x7f: 'i', 0x7e: 'j', 0x7d: 'f', 0x7c: 'd' };

/** Emscripten signature strings ('vii': result then params) of the function exports. */
export function exportSignatures(bytes: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  try {
    const m = parseModule(bytes);
    for (const e of m.exports) {
      if (e.kind !== KIND_FUNC) continue;
      const t = funcType(m, e.index);
      if (!t || t.results.length > 1) continue;
      const chars = [t.results.length ? SIG_CHAR[t.results[0]!] : 'v', ...t.params.map((p) => SIG_CHAR[p])];
      if (chars.every((c) => c !== undefined)) out.set(e.name, chars.join(''));
    }
  } catch {
    /* no signatures: wrappers then cannot enter a function table */
  }
  return out;
}

function importedTables(module: WebAssembly.Module, imports: WebAssembly.Imports): WebAssembly.Table[] {
  const out: WebAssembly.Table[] = [];
  for (const d of WebAssembly.Module.imports(module)) {
    if (d.kind !== 'table') continue;
    const v = (imports as Record<string, Record<string, unknown>>)[d.module]?.[d.name];
    if (v instanceof WebAssembly.Table) out.push(v);
  }
  return out;
}

function findImportedMemory(module: WebAssembly.Module, imports: WebAssembly.Imports): WebAssembly.Memory | undefined {
  for (const d of WebAssembly.Module.imports(module)) {
    if (d.kind !== 'memory') continue;
    const v = (imports as Record<string, Record<string, unknown>>)[d.module]?.[d.name];
    if (v instanceof WebAssembly.Memory) return v;
  }
  return undefined;
}
