/**
 * How the detector reaches an Emscripten program's pthread workers without changing the glue:
 * - `locateFile('<name>.worker.js')` answers the worker bootstrap (worker-source.ts: a file in the
 *   OS's temporary directory under Node: node-bootstrap.ts; a blob URL in a browser) and remembers the real worker
 *   script, which the bootstrap loads itself;
 * - the glue's 'load' message to each worker (`{cmd: 'load', wasmModule, wasmMemory, ...}`) gets a
 *   `kmemleak` field with the worker's configuration (layout.ts WorkerConfig: the control block and
 *   trace store are SharedArrayBuffers, shared by the structured clone), added by a patch of the
 *   Worker class's postMessage that touches only messages carrying a module registered here.
 *
 * Why a postMessage patch: the bootstrap is started by the glue (`new Worker(url)`) before the
 * main thread's instance exists, and a worker must have its configuration when it instantiates,
 * synchronously, inside its handler of that very message. The patch stays installed for the
 * process's life (workers may be started on demand later); it costs one WeakMap lookup per 'load'.
 *
 * Invariants: no Node module is imported at load time (the API bundles for browsers); a message
 * that is not a 'load' of a registered module passes through unchanged.
 */
import { workerBootstrapSource } from './worker-source.js';
import type { WorkerConfig } from './layout.js';
import { isNode } from '../platform.js';

const configs = new WeakMap<object, () => WorkerConfig>();
const patched = new WeakSet<object>();

/** Registers the configuration sent with each 'load' of this (instrumented) module (read then). */
export function registerThreadedModule(module: WebAssembly.Module, config: () => WorkerConfig): void {
  configs.set(module, config);
}

function addConfig(msg: unknown): unknown {
  if (msg === null || typeof msg !== 'object') return msg;
  const m = msg as { cmd?: unknown; wasmModule?: unknown };
  if (m.cmd !== 'load' || typeof m.wasmModule !== 'object' || m.wasmModule === null) return msg;
  const cfg = configs.get(m.wasmModule);
  return cfg ? { ...m, kmemleak: cfg() } : msg;
}

/** Patches `Worker.prototype.postMessage` of this class once. */
function patchWorkerClass(cls: unknown): void {
  const proto = (cls as { prototype?: { postMessage?: unknown } } | undefined)?.prototype;
  if (!proto || patched.has(proto) || typeof proto.postMessage !== 'function') return;
  patched.add(proto);
  const original = proto.postMessage as (this: unknown, msg: unknown, ...rest: unknown[]) => unknown;
  proto.postMessage = function (this: unknown, msg: unknown, ...rest: unknown[]) {
    return original.call(this, addConfig(msg), ...rest);
  };
}

let browserBootstrap: string | null = null;
function browserBootstrapUrl(): string {
  browserBootstrap ??= URL.createObjectURL(new Blob([workerBootstrapSource()], { type: 'text/javascript' }));
  return browserBootstrap;
}

export interface ThreadedGlue {
  /** The Module.locateFile to hand the factory. */
  locateFile(path: string, prefix: string): string;
  /** The real worker script, once the glue asked for it ('' before). */
  workerUrl(): string;
}

/**
 * Installs the postMessage patch and returns the factory's locateFile, wrapping the user's own.
 */
export async function threadedGlue(userLocate: ((path: string, prefix: string) => string) | undefined): Promise<ThreadedGlue> {
  let bootstrap: string;
  let absolute: (p: string) => string;
  if (isNode) {
    const { nodeThreadSetup } = await import('./node-bootstrap.js');
    const node = nodeThreadSetup();
    patchWorkerClass(node.workerClass);
    bootstrap = node.bootstrap;
    absolute = node.absolute;
  } else {
    absolute = (p) => new URL(p, (globalThis as { location?: { href: string } }).location?.href).href;
    patchWorkerClass((globalThis as { Worker?: unknown }).Worker);
    bootstrap = browserBootstrapUrl();
  }
  let real = '';
  return {
    locateFile(path, prefix) {
      const located = userLocate ? userLocate(path, prefix) : prefix + path;
      if (!/\.worker\.js$/.test(path)) return located;
      real = absolute(located);
      return bootstrap;
    },
    workerUrl: () => real,
  };
}
