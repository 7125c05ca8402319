/**
 * Static data of Emscripten side modules as roots. A relocatable main module (MAIN_MODULE, e.g.
 * web-tree-sitter) loads side modules (a tree-sitter grammar) at run time; the glue's dynamic
 * linker allocates each side module's .data/.bss with the main module's calloc and passes the
 * address as the side module's `__memory_base`. That block is static data of a loaded module, and
 * the pointer to it lives only in the glue's JS: without this, it would be reported as a leak and
 * everything only it points to (a grammar's language struct) too.
 *
 * How: while watching, WebAssembly.instantiate and `new WebAssembly.Instance` are observed (not
 * changed); a module with a dylink.0 section that imports our memory and a memory base gets
 * [memory base, memory base + its dylink.0 memory size) registered as a root region.
 *
 * Invariants: the observed calls behave exactly as before (same results, same errors, same
 * `instanceof`); stop() puts the originals back; a module that cannot be read is ignored.
 */
import { parseModule } from '../wasm/binary/index.js';
import { dylinkMemSize } from './static-roots.js';

type Register = (start: number, len: number) => void;

function sideModuleData(bytes: Uint8Array, imports: WebAssembly.Imports | undefined, memory: WebAssembly.Memory): [number, number] | null {
  if (!imports) return null;
  try {
    const m = parseModule(bytes);
    const size = dylinkMemSize(bytes, m);
    if (!size) return null;
    const imps = imports as Record<string, Record<string, unknown>>;
    const mem = m.imports.find((i) => i.kind === 2);
    if (!mem || imps[mem.module]?.[mem.name] !== memory) return null;
    const baseImp = m.imports.find((i) => i.kind === 3 && i.name === '__memory_base');
    if (!baseImp) return null;
    const v = imps[baseImp.module]?.[baseImp.name];
    const base = v instanceof WebAssembly.Global ? Number(v.value) >>> 0 : typeof v === 'number' ? v >>> 0 : null;
    return base === null ? null : [base, size];
  } catch {
    return null;
  }
}

export interface SideModuleWatch {
  stop(): void;
}

/** Bytes of modules compiled while watching, for `instantiate(module)` and `new Instance(module)`. */
const compiledBytes = new WeakMap<WebAssembly.Module, Uint8Array>();

export function watchSideModules(memory: WebAssembly.Memory, register: Register): SideModuleWatch {
  const W = WebAssembly as unknown as Record<string, unknown>;
  const saved = {
    instantiate: WebAssembly.instantiate,
    Instance: WebAssembly.Instance,
    Module: WebAssembly.Module,
    compile: WebAssembly.compile,
  };
  const observe = (bytes: Uint8Array | undefined, imports: WebAssembly.Imports | undefined) => {
    if (!bytes) return;
    const r = sideModuleData(bytes, imports, memory);
    if (r) register(r[0], r[1]);
  };
  const toBytes = (src: unknown): Uint8Array | undefined => {
    if (src instanceof WebAssembly.Module) return compiledBytes.get(src);
    if (src instanceof ArrayBuffer) return new Uint8Array(src);
    if (ArrayBuffer.isView(src)) return new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
    return undefined;
  };

  W.instantiate = function (source: unknown, imports?: WebAssembly.Imports) {
    const bytes = toBytes(source);
    const p = (saved.instantiate as (s: unknown, i?: WebAssembly.Imports) => Promise<unknown>).call(WebAssembly, source, imports);
    return p.then((r) => {
      observe(bytes, imports);
      if (bytes && r && typeof r === 'object' && 'module' in r) compiledBytes.set((r as { module: WebAssembly.Module }).module, bytes);
      return r;
    });
  };
  const OrigModule = saved.Module;
  const OrigInstance = saved.Instance;
  const PatchedModule = function (this: unknown, bytes: BufferSource) {
    const m = new OrigModule(bytes);
    const b = toBytes(bytes);
    if (b) compiledBytes.set(m, b);
    return m;
  } as unknown as typeof WebAssembly.Module;
  const PatchedInstance = function (this: unknown, module: WebAssembly.Module, imports?: WebAssembly.Imports) {
    const inst = new OrigInstance(module, imports);
    observe(compiledBytes.get(module), imports);
    return inst;
  } as unknown as typeof WebAssembly.Instance;
  for (const [P, O] of [
    [PatchedModule, OrigModule],
    [PatchedInstance, OrigInstance],
  ] as const) {
    Object.defineProperty(P, 'prototype', { value: O.prototype });
    Object.defineProperty(P, Symbol.hasInstance, { value: (x: unknown) => x instanceof O });
    for (const k of Object.getOwnPropertyNames(O)) {
      if (k === 'prototype' || k === 'length' || k === 'name') continue;
      Object.defineProperty(P, k, Object.getOwnPropertyDescriptor(O, k)!);
    }
  }
  W.Module = PatchedModule;
  W.Instance = PatchedInstance;
  W.compile = function (source: BufferSource) {
    const b = toBytes(source);
    return saved.compile.call(WebAssembly, source).then((m) => {
      if (b) compiledBytes.set(m, b);
      return m;
    });
  };
  return {
    stop() {
      if (W.instantiate !== saved.instantiate && W.Instance === PatchedInstance) {
        W.instantiate = saved.instantiate;
        W.Instance = saved.Instance;
        W.Module = saved.Module;
        W.compile = saved.compile;
      }
    },
  };
}
