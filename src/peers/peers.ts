/**
 * Why: the one seam between `kmemleak run` (src/wasm/runtime/run.ts) and the peers' interfaces:
 * LeakSanitizer's `env.__lsan_*` imports and settings, Valgrind's client requests, and LSan's
 * exit semantics. run.ts asks this object for the imports, hands it the instance, and asks it
 * whether and how to run the final check; everything LSan- or Valgrind-specific stays here.
 *
 * Invariants: a program that imports neither interface and defines no __lsan_* callback runs as
 * before (the engine port is wrapped only when the program makes Valgrind requests); settings are
 * final once `start` has read the program's __lsan_default_options(); nothing here throws into
 * wasm except a check's deliberate exit (LeakChecks.die).
 */
import type { Kmemleak } from '../engine/index.js';
import type { EnginePort } from '../wasm/runtime/engine-port.js';
import type { ImportEntry } from '../wasm/runtime/module-info.js';
import type { RunOptions } from '../wasm/runtime/options.js';
import { classifyExitHere, type ExitKind } from './exit-kind.js';
import { exitShapes } from './exit-shape.js';
import { parseLsanOptions, SETTING_DEFAULTS, unknownFlagsWarning, type LeakCheckSettings, type PartialSettings } from './lsan-flags.js';
import { disabledLsanImports, LeakChecks, LSAN_FUNCTIONS, LSAN_MODULE } from './lsan-interface.js';
import { disabledValgrindImports, VALGRIND_MODULE, ValgrindRequests } from './valgrind-requests.js';

type ImportFns = Record<string, (...a: number[]) => number | void>;

/** The import modules this file provides, for checkImports and --off. */
export function peerImportsOff(): Record<string, ImportFns> {
  return { [LSAN_MODULE]: disabledLsanImports(), [VALGRIND_MODULE]: disabledValgrindImports() };
}

/** Whether the module imports `module.name` as one of ours. */
export function isPeerImport(imp: ImportEntry): boolean {
  if (imp.kind !== 0) return false;
  if (imp.module === LSAN_MODULE) return (LSAN_FUNCTIONS as readonly string[]).includes(imp.name);
  return imp.module === VALGRIND_MODULE && imp.name in disabledValgrindImports();
}

export interface PeerRun {
  engine: Kmemleak;
  /** The settings the run starts with (defaults, LSAN_OPTIONS, the command line). */
  opts: RunOptions;
  imports: readonly ImportEntry[];
  flush(): void;
  /**
   * engine.exitScan(), keeping its count. announce false: LSan's checks, whose report (after
   * triage: suppressions) prints the "N new suspected memory leaks" line itself.
   */
  scan(announce: boolean): void;
  printLeaks(): number;
  writeFinal(maxLeaks: number): number;
  die(status: number): never;
  ignoreAllocations(delta: 1 | -1): number;
  traceHere(): number;
  enter(): void;
  leave(): void;
  staticRoots: ReadonlyArray<readonly [number, number]>;
  log(line: string): void;
  print(text: string): void;
}

export class Peers {
  readonly settings: LeakCheckSettings;
  readonly checks: LeakChecks;
  readonly valgrind: ValgrindRequests | null;
  /** How the program is ending (set inside proc_exit). */
  exitKind: ExitKind = 'full';
  private callTurnedOff: (() => number) | null = null;
  private readonly given: PartialSettings;

  constructor(private readonly run: PeerRun) {
    const o = run.opts;
    this.given = o.lsan?.given ?? {};
    this.settings = { ...SETTING_DEFAULTS, exitcode: o.exitcode, useStacks: o.stack, traceDepth: o.traceDepth ?? SETTING_DEFAULTS.traceDepth, ...this.given };
    for (const w of o.lsan?.warnings ?? []) run.log(w);
    const engine = run.engine;
    this.checks = new LeakChecks(this.settings, {
      flush: run.flush,
      scan: () => run.scan(false),
      printLeaks: run.printLeaks,
      writeFinal: () => run.writeFinal(this.settings.maxLeaks),
      die: run.die,
      turnedOff: () => (this.callTurnedOff ? this.callTurnedOff() !== 0 : false),
      ignoreAllocations: run.ignoreAllocations,
      ignoreObject: (ptr) => {
        run.enter();
        try {
          const o = engine.objectAt(ptr);
          if (!o) return false;
          engine.notLeak(o.start);
          return true;
        } finally { run.leave(); }
      },
      log: run.log,
    });
    const usesValgrind = run.imports.some((i) => i.module === VALGRIND_MODULE);
    this.valgrind = usesValgrind ? new ValgrindRequests({
      engine,
      traceHere: run.traceHere,
      enter: run.enter,
      leave: run.leave,
      flush: run.flush,
      inStatic: (addr) => run.staticRoots.some(([s, e]) => addr >= s && addr < e),
      scan: () => run.scan(true),
      leaks: () => {
        const out: Array<{ address: number; size: number; text: string }> = [];
        engine.eachLeak((rec, text) => { out.push({ address: rec.address, size: rec.size, text }); });
        return out;
      },
      print: run.print,
    }) : null;
  }

  /** The engine port the allocator hooks use (pool-aware when the program makes Valgrind requests). */
  port(engine: EnginePort): EnginePort {
    return this.valgrind ? this.valgrind.wrapPort(engine) : engine;
  }

  imports(): Record<string, ImportFns> {
    const out: Record<string, ImportFns> = { [LSAN_MODULE]: this.checks.imports() };
    out[VALGRIND_MODULE] = this.valgrind ? this.valgrind.imports() : disabledValgrindImports();
    return out;
  }

  /**
   * After instantiation, before the program starts: the program's own callbacks (exported by the
   * rewriter when it defines them). Its __lsan_default_options() sets what LSAN_OPTIONS and the
   * command line left unset.
   */
  start(exports: WebAssembly.Exports, memory: WebAssembly.Memory, beforeCall: () => void): void {
    const f = (name: string): ((...a: number[]) => number) | null =>
      typeof exports[name] === 'function' ? (exports[name] as (...a: number[]) => number) : null;
    const turnedOff = f('__lsan_is_turned_off');
    // Called at each check; after a trap the module needs its reset first (beforeCall).
    this.callTurnedOff = turnedOff ? () => { beforeCall(); return turnedOff(); } : null;
    const defaults = f('__lsan_default_options');
    if (defaults) this.applyProgramDefaults(defaults, memory);
    this.run.engine.stackEnabled = this.settings.useStacks;
    this.run.engine.unaligned = this.settings.useUnaligned;
  }

  private applyProgramDefaults(defaults: () => number, memory: WebAssembly.Memory): void {
    let text = '';
    try { text = readCString(memory, defaults() >>> 0); } catch { return; }
    const parsed = parseLsanOptions(text);
    const w = unknownFlagsWarning('__lsan_default_options', parsed.unknown);
    if (w) this.run.log(w);
    for (const p of parsed.problems) this.run.log(`kmemleak: __lsan_default_options: ${p} (ignored)`);
    for (const [k, v] of Object.entries(parsed.values) as Array<[keyof LeakCheckSettings, never]>) {
      if (k in this.given) continue;
      if (k === 'traceDepth') { this.run.log('kmemleak: __lsan_default_options: malloc_context_size is read before the program starts: use LSAN_OPTIONS or --trace-depth'); continue; }
      this.settings[k] = v;
    }
  }

  /** Call inside proc_exit: remembers whether this is exit() or _exit(). */
  noteExit(originalFunction: (i: number) => number, functionName: (i: number) => string | null, original: Uint8Array): void {
    this.exitKind = classifyExitHere(originalFunction, functionName, () => exitShapes(original));
  }

  /** Whether the check at the end of the run is due (LSan's atexit check, or after a trap). */
  exitCheckDue(trapped: boolean): boolean {
    if (this.checks.finalDone) return false;
    if (trapped) return true;
    return this.settings.leakCheckAtExit && this.exitKind === 'full';
  }

  /** The roots the settings add or remove, around the run's own provider. */
  roots(staticRoots: Array<[number, number]>): Array<[number, number]> {
    return this.settings.useGlobals ? staticRoots : [];
  }
}

/** A NUL-terminated string in memory (at most 64 KiB of it). */
function readCString(memory: WebAssembly.Memory, ptr: number): string {
  if (ptr === 0) return '';
  const u8 = new Uint8Array(memory.buffer);
  let end = ptr;
  const limit = Math.min(u8.length, ptr + 65536);
  while (end < limit && u8[end] !== 0) end++;
  return new TextDecoder().decode(u8.subarray(ptr, end));
}
