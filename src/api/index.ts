/**
 * kmemleak's embedding API, for Node and browsers (the package's main export).
 *
 *   import kmemleak from 'kmemleak';
 *   const k = await kmemleak.instantiate(bytesOrResponse, imports, { scan: 600, minAgeMs: 5000 });
 *   k.exports.run();                      // calls through the wrapped exports set comm
 *   await k.scan();                       // now, or at the next safe point if wasm is running
 *   console.log(k.read());                // kmemleak's report; k.leaks() as records
 *   k.write('scan=off'); k.notLeak(ptr); k.registerRoot(ptr, len);
 *
 *   // code you do not control (Emscripten glue, libraries):
 *   const w = kmemleak.wrapWebAssembly({ onInstance: (h) => ... });   // patches WebAssembly.*
 *   ... w.handles, w.restore()
 *
 *   // Emscripten modules: the glue's own loading, through Module.instantiateWasm
 *   const { module, kmemleak: k } = await kmemleak.emscripten(initSqlJs, { wasm: bytes });
 *   // a program that exits inside the factory (-sEXIT_RUNTIME=1): the exit report at its exit
 *   await kmemleak.emscripten(createModule, { wasm: bytes, exitReport: true });   // exit-report.ts
 *   // glue you call yourself (web-tree-sitter): a ready-made Module.instantiateWasm hook
 *   await Parser.init({ instantiateWasm: kmemleak.instantiateWasmHook(bytes, opts, (h) => k = h) });
 *
 * Emscripten specifics handled here and in detector.ts: minified export names (read from the
 * glue's text), realloc/calloc of unnamed dlmalloc builds, relocatable MAIN_MODULEs (imported
 * memory, stack pointer and table; exports placed in the table), side modules' static data.
 *
 * The safe-point rule and the handle's methods: handle.ts. Browsers have no node:wasi: WasiShim
 * (wasi.ts) runs WASI commands and reactors there.
 *
 * Invariants: the detector never changes what the program computes or returns; every error the
 * user can cause is an Error with a one-line message; nothing here imports a Node module at load
 * time (control sockets are loaded on demand), so the same module bundles for browsers.
 */
import { prepare, type DetectorOptions, type Prepared } from './detector.js';
import { KmemleakHandle } from './handle.js';
import { exportAliasesFromGlue } from './emscripten-glue.js';
import { hasSharedMemory, THREADED_UNTRACKED } from './threads.js';
import { threadedGlue, registerThreadedModule } from './threads/glue-hooks.js';
import { threadConfigs } from './threads/attach.js';
import { htmlReport } from './html-report.js';
import { isNode } from './platform.js';
import { wrapOnExit, type ExitReportOption } from './exit-report.js';

export { KmemleakHandle } from './handle.js';
export { WasiShim, WasiExit, type WasiShimOptions } from './wasi.js';
export { htmlReport, type HtmlReportSource } from './html-report.js';
export type { ExitReport, ExitReportOption } from './exit-report.js';
export type { DetectorOptions } from './detector.js';
export type { LeakRecord } from '../engine/index.js';
export type { Frame } from '../symbolize/frame.js';

export type Source = BufferSource | Response | PromiseLike<Response>;

export interface InstantiateOptions extends DetectorOptions {
  /** Instantiate without the detector (kmemleak=off): the handle reports nothing. */
  off?: boolean;
}

function isResponseLike(x: unknown): x is Response | PromiseLike<Response> {
  if (x === null || typeof x !== 'object') return false;
  return typeof (x as { then?: unknown }).then === 'function' || typeof (x as { arrayBuffer?: unknown }).arrayBuffer === 'function';
}

/** The bytes of a source: copies views so later changes by the caller do not matter. */
export async function sourceBytes(source: Source): Promise<Uint8Array> {
  if (isResponseLike(source)) {
    const res = await source;
    if (!res.ok && res.status !== 0) throw new Error(`cannot load the module: HTTP ${res.status} ${res.statusText}`.trim());
    return new Uint8Array(await res.arrayBuffer());
  }
  if (source instanceof ArrayBuffer) return new Uint8Array(source.slice(0));
  if (ArrayBuffer.isView(source)) {
    return new Uint8Array(source.buffer.slice(source.byteOffset, source.byteOffset + source.byteLength) as ArrayBuffer);
  }
  throw new Error('kmemleak.instantiate needs the module bytes (ArrayBuffer, typed array) or a Response');
}

const nativeInstantiate = WebAssembly.instantiate.bind(WebAssembly);

async function instantiatePrepared(p: Prepared, imports: WebAssembly.Imports | undefined): Promise<KmemleakHandle> {
  // Before the program's memory can grow under the detector: see node-flags.ts.
  if (isNode) (await import('./node-flags.js')).keepBytecode();
  const merged = p.imports(imports);
  let instance: WebAssembly.Instance;
  try {
    instance = await nativeInstantiate(p.module, merged);
  } catch (e) {
    throw new Error(`cannot instantiate the module: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
  return p.bind(instance, merged);
}

/** A handle for a module instantiated without the detector (off, or no allocator found). */
async function untracked(bytes: Uint8Array, imports: WebAssembly.Imports | undefined, opts: InstantiateOptions, why: string): Promise<KmemleakHandle> {
  const { Kmemleak } = await import('../engine/index.js');
  const { CallTracker } = await import('./calls.js');
  const { RootRegistry } = await import('./roots.js');
  const log = opts.log ?? ((l: string) => console.error(l));
  const engine = new Kmemleak({ log: () => {}, scanPeriodSecs: 0 });
  engine.write('off');
  if (why) log(`kmemleak: ${why}`);
  const { instance, module } = await nativeInstantiate(bytes as BufferSource, imports);
  const tracker = new CallTracker(() => {});
  const wrapped = Object.create(WebAssembly.Instance.prototype, {
    exports: { value: tracker.wrapExports(instance.exports), enumerable: true },
  }) as WebAssembly.Instance;
  return new KmemleakHandle({ engine, tracker, roots: new RootRegistry(), instance: wrapped, module, log, allocators: [] });
}

/**
 * Instantiates a module through the detector: its allocator is instrumented, its exports are
 * wrapped (comm, safe points), and the returned handle reads and controls kmemleak for it.
 */
export async function instantiate(
  source: Source,
  imports?: WebAssembly.Imports,
  opts: InstantiateOptions = {},
): Promise<KmemleakHandle> {
  return instantiateBytes(await sourceBytes(source), imports, opts, false);
}

/** `threaded`: a shared-memory module whose workers emscripten() reaches (threads/glue-hooks.ts). */
async function instantiateBytes(bytes: Uint8Array, imports: WebAssembly.Imports | undefined, opts: InstantiateOptions, threaded: boolean): Promise<KmemleakHandle> {
  if (opts.off) return untracked(bytes, imports, opts, '');
  if (!threaded && hasSharedMemory(bytes)) return untracked(bytes, imports, opts, THREADED_UNTRACKED);
  const p = await prepare(bytes, opts, threaded);
  if (!p) return untracked(bytes, imports, opts, 'no allocator found in the module: it runs without the detector');
  return instantiatePrepared(p, imports);
}

export interface WrapOptions extends DetectorOptions {
  /** Which modules to instrument (default: every module with an allocator the rewriter finds). */
  filter?: (bytes: Uint8Array, imports: WebAssembly.Imports | undefined) => boolean;
  /** Called with each handle, once its instance exists. */
  onInstance?: (handle: KmemleakHandle) => void;
}

export interface Wrapped {
  /** The handles of the instances created through the patched functions, in creation order. */
  readonly handles: KmemleakHandle[];
  /** Puts back the original WebAssembly functions. */
  restore(): void;
}

/**
 * Patches WebAssembly.instantiate and instantiateStreaming (and compile/compileStreaming, so a
 * module compiled first and instantiated later is still instrumented) for code you do not
 * control. Modules the filter rejects or without an allocator go through untouched.
 * `new WebAssembly.Instance(module)` (synchronous) is not intercepted.
 */
export function wrapWebAssembly(opts: WrapOptions = {}): Wrapped {
  const W = WebAssembly as unknown as Record<string, unknown>;
  const saved = {
    instantiate: WebAssembly.instantiate,
    instantiateStreaming: WebAssembly.instantiateStreaming,
    compile: WebAssembly.compile,
    compileStreaming: WebAssembly.compileStreaming,
  };
  const handles: KmemleakHandle[] = [];
  const compiledFrom = new WeakMap<WebAssembly.Module, Uint8Array>();

  const viaDetector = async (bytes: Uint8Array, imports: WebAssembly.Imports | undefined) => {
    if (opts.filter && !opts.filter(bytes, imports)) return null;
    // Workers instantiate the module they are sent with their own imports: see threads.ts.
    let h: KmemleakHandle;
    if (hasSharedMemory(bytes)) {
      h = await untracked(bytes, imports, opts, THREADED_UNTRACKED);
    } else {
      const p = await prepare(bytes, opts);
      if (!p) return null;
      h = await instantiatePrepared(p, imports);
    }
    handles.push(h);
    opts.onInstance?.(h);
    return h;
  };

  W.instantiate = async function (source: unknown, imports?: WebAssembly.Imports) {
    if (source instanceof WebAssembly.Module) {
      const bytes = compiledFrom.get(source);
      const h = bytes ? await viaDetector(bytes, imports) : null;
      return h ? h.instance : saved.instantiate.call(WebAssembly, source, imports);
    }
    const bytes = await sourceBytes(source as BufferSource);
    const h = await viaDetector(bytes, imports);
    if (h) return { module: h.module, instance: h.instance };
    return saved.instantiate.call(WebAssembly, bytes as BufferSource, imports);
  };
  if (typeof saved.instantiateStreaming === "function") {
    W.instantiateStreaming = async function (source: Response | PromiseLike<Response>, imports?: WebAssembly.Imports) {
      const bytes = await sourceBytes(source);
      const h = await viaDetector(bytes, imports);
      if (h) return { module: h.module, instance: h.instance };
      return saved.instantiate.call(WebAssembly, bytes as BufferSource, imports);
    };
  }
  W.compile = async function (source: BufferSource) {
    const bytes = await sourceBytes(source);
    const m = await saved.compile.call(WebAssembly, bytes as BufferSource);
    compiledFrom.set(m, bytes);
    return m;
  };
  if (typeof saved.compileStreaming === "function") {
    W.compileStreaming = async function (source: Response | PromiseLike<Response>) {
      const bytes = await sourceBytes(source);
      const m = await saved.compile.call(WebAssembly, bytes as BufferSource);
      compiledFrom.set(m, bytes);
      return m;
    };
  }
  return {
    handles,
    restore() {
      W.instantiate = saved.instantiate;
      W.instantiateStreaming = saved.instantiateStreaming;
      W.compile = saved.compile;
      W.compileStreaming = saved.compileStreaming;
    },
  };
}

/**
 * An Emscripten `Module.instantiateWasm` hook that instantiates `wasm` through the detector, for
 * glue you call yourself (web-tree-sitter's Parser.init({ instantiateWasm }), a custom factory).
 * onHandle receives the handle; onError any failure (the glue has no error path for this hook).
 */
export function instantiateWasmHook(
  wasm: Source,
  opts: DetectorOptions,
  onHandle: (h: KmemleakHandle) => void,
  onError: (e: unknown) => void = (e) => (opts.log ?? console.error)(`kmemleak: ${e instanceof Error ? e.message : String(e)}`),
): (imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) => object {
  return (imports, done) => {
    instantiate(wasm, imports, opts)
      .then((h) => {
        if (h.relocatable) h.watchSideModules();
        onHandle(h);
        done(h.instance, h.module);
      })
      .catch(onError);
    return {};
  };
}

export interface EmscriptenOptions extends DetectorOptions {
  /**
   * The .wasm file's bytes or a Response for it. When given, the glue's Module.instantiateWasm
   * hook loads it through the detector; when not, WebAssembly.instantiate is patched while the
   * glue loads its own file.
   */
  wasm?: Source;
  /** Extra Module settings passed to the factory (locateFile, print, ...). */
  moduleArg?: Record<string, unknown>;
  /**
   * When the program exits (the glue's onExit: -sEXIT_RUNTIME=1, or exit()), run the exit scan
   * there and then and write `kmemleak run`'s exit report through `log` (true), or hand it to
   * this function. moduleArg.onExit is still called, after it. See exit-report.ts.
   */
  exitReport?: ExitReportOption;
}

/**
 * Runs an Emscripten MODULARIZE factory (initSqlJs, createModule, ...) with its wasm instantiated
 * through the detector. Resolves to the factory's result and the handle; the glue's names for
 * minified exports (`Module._sqlite3_open = wasmExports.Ha`) are learned for comm.
 */
export async function emscripten<T extends object>(
  factory: (moduleArg: Record<string, unknown>) => Promise<T> | T,
  opts: EmscriptenOptions = {},
): Promise<{ module: T; kmemleak: KmemleakHandle }> {
  // A caller's mistake (the module object, its path) gets one clear message, not toString's.
  if (typeof factory !== 'function') {
    throw new TypeError(`kmemleak.emscripten needs the Emscripten MODULARIZE factory (a function), got ${factory === null ? 'null' : typeof factory}`);
  }
  const moduleArg: Record<string, unknown> = { ...(opts.moduleArg ?? {}) };
  if (!opts.exportAliases) {
    // Minified glue maps export names back (k._malloc=c.Ia): read them from its source text.
    const aliases = exportAliasesFromGlue(Function.prototype.toString.call(factory));
    if (aliases.size > 0) opts = { ...opts, exportAliases: aliases };
  }
  let handle: KmemleakHandle | null = null;
  let wrapped: Wrapped | null = null;
  if (opts.exitReport) wrapOnExit(moduleArg, opts.exitReport, () => handle, opts.log ?? ((l) => console.error(l)));
  // The glue has no error path for instantiateWasm: a failure must end the wait itself.
  let fail: (e: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => {});
  const bytes = opts.wasm !== undefined ? await sourceBytes(opts.wasm) : null;
  if (bytes !== null && hasSharedMemory(bytes)) {
    // -pthread: workers get the bootstrap and their configuration (threads/glue-hooks.ts).
    const glue = await threadedGlue(moduleArg.locateFile as ((p: string, prefix: string) => string) | undefined);
    moduleArg.locateFile = glue.locateFile;
    moduleArg.instantiateWasm = (imports: WebAssembly.Imports, done: (i: WebAssembly.Instance, m: WebAssembly.Module) => void) => {
      instantiateBytes(bytes, imports, opts, true)
        .then((h) => {
          const cfg = threadConfigs.get(h);
          if (cfg) registerThreadedModule(h.module, () => ({ ...cfg, worker: glue.workerUrl() }));
          handle = h;
          done(h.instance, h.module);
        })
        .catch(fail);
      return {};
    };
  } else if (bytes !== null) {
    moduleArg.instantiateWasm = instantiateWasmHook(bytes as Uint8Array<ArrayBuffer>, opts, (h) => (handle = h), fail);
  } else {
    wrapped = wrapWebAssembly({ ...opts, onInstance: (h) => (handle ??= h) });
  }
  let module: T;
  try {
    const pending = Promise.resolve(factory(moduleArg));
    module = await Promise.race([pending, failed]);
  } finally {
    wrapped?.restore();
  }
  const h = handle as KmemleakHandle | null;
  if (!h) throw new Error('the Emscripten module instantiated no wasm with an allocator through the detector');
  if (h.relocatable) h.watchSideModules();
  h.learnNames(module);
  return { module, kmemleak: h };
}

const kmemleak = { instantiate, wrapWebAssembly, emscripten, instantiateWasmHook, htmlReport };
export default kmemleak;
