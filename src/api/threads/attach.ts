/**
 * Wires a threaded module's detector (detector.ts's prepare, threaded) to its collector: the main
 * thread's hooks drain the other threads' events first (collector.ts rule 3), scans stop the world
 * (rule 4, through the engine's scanBracket), the thread stacks are roots (rule 5), and the
 * configuration each worker gets (layout.ts WorkerConfig) is kept per handle for emscripten().
 */
import type { Kmemleak } from '../../engine/index.js';
import type { Backtraces } from '../../wasm/runtime/backtraces.js';
import type { EventSink } from '../../wasm/runtime/event-log.js';
import type { HookFn } from '../../wasm/runtime/hooks.js';
import type { Instrumented } from '../../wasm/instrument/index.js';
import { ANNOTATION_MODULE } from '../../wasm/runtime/annotations.js';
import { ThreadCollector } from './collector.js';
import type { WorkerConfig } from './layout.js';

export type ThreadConfig = Omit<WorkerConfig, 'worker'>;

/** Handle -> its workers' configuration (emscripten() sends it with the glue's 'load'). */
export const threadConfigs = new WeakMap<object, ThreadConfig>();

export interface ThreadsParts {
  engine: Kmemleak;
  events: EventSink;
  traces: Backtraces;
  inst: Instrumented;
  traceDepth: number;
  pid: number;
  /** The main thread's comm now (the export the host called). */
  comm(): string;
  /** Name of an ORIGINAL function index, or null. */
  functionName(originalIndex: number): string | null;
  log(line: string): void;
}

export class ThreadsMain {
  collector: ThreadCollector | null = null;

  constructor(private readonly p: ThreadsParts) {
    if (!p.inst.exports.eventLog) throw new Error('threaded module: the rewriter exported no unwrapped malloc (calling context is off), so threads cannot log');
  }

  /** The main thread's hooks, each draining the other threads' events first (rule 3). */
  wrapHooks(hooks: Record<string, HookFn>): Record<string, HookFn> {
    const out: Record<string, HookFn> = {};
    for (const [name, f] of Object.entries(hooks)) out[name] = this.draining(f);
    return out;
  }

  /** f after a drain, with f's arity (V8 calls a JS import of matching arity without adapting). */
  private draining(f: HookFn): HookFn {
    const drain = (): void => {
      const col = this.collector;
      if (col !== null && col.pending()) col.drain();
    };
    switch (f.length) {
      case 0: return () => { drain(); f(); };
      case 1: return (a: number) => { drain(); f(a); };
      case 2: return (a: number, b: number) => { drain(); f(a, b); };
      case 3: return (a: number, b: number, c: number) => { drain(); f(a, b, c); };
      case 4: return (a: number, b: number, c: number, d: number) => { drain(); f(a, b, c, d); };
      default: return (a: number, b: number, c: number, d: number, e: number) => { drain(); f(a, b, c, d, e); };
    }
  }

  /**
   * The host's imports with Emscripten's clock (env.emscripten_get_now) as a drain point: the main
   * thread's sleeps and busy-waits (usleep, a browser main thread's pthread_join) call it every
   * millisecond or so, so other threads' logs are replayed while the main thread waits.
   */
  wrapImports(host: WebAssembly.Imports | undefined): WebAssembly.Imports | undefined {
    const env = host?.['env'] as Record<string, unknown> | undefined;
    const clock = env?.['emscripten_get_now'];
    if (!host || !env || typeof clock !== 'function') return host;
    const f = clock as () => number;
    const wrapped = (): number => {
      const col = this.collector;
      if (col !== null && col.pending()) col.drain();
      return f();
    };
    return { ...host, env: { ...env, emscripten_get_now: wrapped } };
  }

  /** Once the memory exists: the collector, the scan bracket, the workers' configuration. */
  bind(memory: WebAssembly.Memory): ThreadConfig {
    const { engine, inst, p } = { engine: this.p.engine, inst: this.p.inst, p: this.p };
    const col = new ThreadCollector({
      memory,
      events: p.events,
      traces: p.traces,
      setContext: (comm, pid) => engine.setContext(comm, pid),
      mainContext: () => ({ comm: p.comm(), pid: p.pid }),
      functionName: (i) => {
        const o = inst.originalFunction(i);
        return o >= 0 ? p.functionName(o) : null;
      },
      threadBlocks: (stackLo, pthread) => {
        // Only blocks the engine has (a stack the program gave pthread_attr_setstack may not be one).
        if (stackLo !== 0 && engine.dumpObject(stackLo) !== null) { engine.noScan(stackLo); engine.notLeak(stackLo); }
        if (pthread !== 0 && engine.dumpObject(pthread) !== null) engine.notLeak(pthread);
      },
      log: p.log,
    }, p.pid + 1);
    this.collector = col;
    engine.scanBracket = { begin: () => col.stopWorld(), end: () => col.resumeWorld() };
    return {
      control: col.control,
      traces: col.traceStore,
      hookModule: inst.hookModule,
      hooks: [...inst.hooks, 'flush'].filter((n, i, a) => a.indexOf(n) === i),
      annotationModule: ANNOTATION_MODULE,
      stackPointer: inst.exports.stackPointer,
      rawMalloc: inst.exports.eventLog!.rawMalloc,
      depth: p.traceDepth,
    };
  }

  /** Rule 5: the running threads' stacks (called by the root provider at each scan). */
  addRoots(add: (start: number, end: number) => void): void {
    this.collector?.addRoots(add);
  }
}
