/**
 * Why: the one place where `kmemleak run` meets the other parts: the rewriter (instrument), the
 * static layout, the symbolizer and the engine. It turns their APIs into what the runtime needs:
 * the binary to run with its maps back to the original, the static roots and stack top, a way to
 * read the stack pointer and the calling context, and an engine whose reports name functions.
 *
 * Invariants: errors the other parts raise for bad input (WasmFormatError and its subclasses,
 * e.g. "no allocator found ...") become InputError with their one-line message (NoAllocatorError when
 * the automatic search found none: the caller runs the program untracked); the engine never
 * scans on its own timer here (scanPeriodSecs 0): a WASI run holds the thread, so automatic scans
 * are driven from the hooks (auto-scan.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kmemleak } from '../../engine/index.js';
import type { Frame } from '../../symbolize/frame.js';
import { Symbolizer } from '../../symbolize/index.js';
import { WasmFormatError, parseModule } from '../binary/index.js';
import { AllocatorNotFoundError, instrument, type Instrumented } from '../instrument/index.js';
import { staticLayout, type Layout } from '../layout/index.js';
import { CACHE_VERSION, cacheFile, readCached, writeCached } from './prepare-cache.js';
import { cacheDir } from './cache-dir.js';
import { lookupIndex, recordIndex, type FileIdentity } from './prepare-index.js';

/** A module file as read: its path, and its identity and change time (prepare-index.ts). */
export interface ReadModule { path: string; identity: FileIdentity | null; changedMs: number }
import { InputError, NoAllocatorError, oneLine } from './errors.js';
import type { RunOptions } from './options.js';
import { hostNow } from './host-clock.js';

export interface Prepared {
  instrumented: Instrumented;
  layout: Layout;
  /** Static roots: writable data minus the allocator's private state. */
  staticRoots: Array<[number, number]>;
  /** Where the shadow stack starts (it grows down from here), or null when unknown. */
  stackTop: number | null;
  /** Original function indices of the allocator entry points. */
  entryPoints: Set<number>;
  /** Whether it came from the prepare cache (unvalidated: a module that does not compile is a miss). */
  cached: boolean;
}

function asInputError(e: unknown, what: string, named: boolean): never {
  if (e instanceof AllocatorNotFoundError && !named) throw new NoAllocatorError(`${what}: ${oneLine(e)}`);
  if (e instanceof WasmFormatError) throw new InputError(`${what}: ${oneLine(e)}`);
  throw e;
}

/** Instruments the module and reads its layout. */
/**
 * The rewritten module and its layout, from the prepare cache when it has them. source: where
 * `original` was read from, with the file's identity then (prepare-index.ts), when known.
 * onMiss runs before the module is instrumented (the caller validates the original there: an
 * entry exists only for a module that passed, so a warm run skips it); fresh: the cache is not
 * read (its entry did not compile), only written.
 */
export function prepareModule(original: Uint8Array, opts: RunOptions, source?: ReadModule, onMiss?: () => void, fresh = false): Prepared {
  const what = opts.module;
  let instrumented: Instrumented;
  let layout: Layout;
  // KMEMLEAK_SPILL=off: no live-locals spilling (instrument/spill.ts), for comparisons.
  const spillOff = process.env['KMEMLEAK_SPILL'] === 'off';
  const shape = { allocator: opts.allocator ?? null, callingContext: opts.callingContext !== false, ...(spillOff ? { spill: false } : {}) };
  const dir = cacheDir();
  const shapeText = JSON.stringify(shape);
  // An unchanged file finds its entry through the index, without hashing (no node:crypto).
  const indexed = dir && source?.identity ? lookupIndex(dir, CACHE_VERSION, source.path, shapeText, source.identity) : null;
  let cached = fresh ? null : readCached(indexed);
  let file = indexed;
  if (!cached) {
    file = cacheFile(original, shape);
    if (!fresh) cached = readCached(file);
  }
  const remember = (): void => {
    if (dir && source && file && file !== indexed) recordIndex(dir, CACHE_VERSION, source.path, shapeText, source.identity, source.changedMs, file);
  };
  if (cached) {
    instrumented = cached.instrumented;
    layout = cached.layout;
    remember();
  } else {
    onMiss?.();
    try {
      instrumented = instrument(original, {
        ...(opts.allocator ? { allocator: opts.allocator } : {}),
        ...(opts.callingContext === false ? { callingContext: false } : {}),
        ...(spillOff ? { spillLocals: false } : {}),
      });
      layout = staticLayout(parseModule(original), { allocatorEntries: instrumented.allocators.map((a) => a.index) });
    } catch (e) {
      asInputError(e, what, opts.allocator !== undefined && Object.keys(opts.allocator).length > 0);
    }
    writeCached(file, { instrumented, layout });
    remember();
  }
  return {
    instrumented,
    layout,
    staticRoots: layout.roots.filter((r) => r.end > r.start).map((r) => [r.start, r.end] as [number, number]),
    stackTop: layout.stackTop,
    entryPoints: new Set(instrumented.allocators.map((a) => a.index)),
    cached: cached !== null,
  };
}

/** Reads an exported i32 global (the stack pointer) as unsigned; -1 when absent. */
export function globalReader(instance: WebAssembly.Instance, name: string | null): () => number {
  const g = name ? instance.exports[name] : undefined;
  if (!(g instanceof WebAssembly.Global)) return () => -1;
  return () => (g.value as number) >>> 0;
}

/** Reads the exported i64 calling-context global as (lo, hi) into `out`; null when absent. */
export function contextReader(instance: WebAssembly.Instance, name: string | null): ((out: Uint32Array) => void) | null {
  const g = name ? instance.exports[name] : undefined;
  if (!(g instanceof WebAssembly.Global)) return null;
  return (out) => {
    const v = BigInt.asUintN(64, g.value as bigint);
    out[0] = Number(v & 0xffffffffn);
    out[1] = Number(v >> 32n);
  };
}

export interface Detector {
  engine: Kmemleak;
  names: Symbolizer;
  /** Milliseconds since the detector started (the engine's jiffies clock). */
  now: () => number;
}

/** Source map text for --source-map, or the file the module's sourceMappingURL names. */
function sourceMapLoader(modulePath: string): (url: string) => string | null {
  return (url) => {
    try {
      if (/^[a-z][a-z0-9+.-]*:/i.test(url) && !url.startsWith('file:')) return null;   // http(s) and the like: not fetched
      const path = url.startsWith('file:') ? fileURLToPath(url) : resolve(dirname(modulePath), url);
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  };
}

function scanKernelSetting(v: string | undefined): 'auto' | 'on' | 'off' {
  return v === 'off' || v === 'on' ? v : 'auto';
}

export async function createDetector(original: Uint8Array, opts: RunOptions, log: (line: string) => void): Promise<Detector> {
  let sourceMap: string | undefined;
  if (opts.sourceMap !== undefined) {
    try { sourceMap = readFileSync(opts.sourceMap, 'utf8'); } catch (e) {
      throw new InputError(`--source-map: cannot read ${opts.sourceMap}: ${oneLine(e)}`, 2);
    }
  }
  const names = await Symbolizer.fromBinary(original, sourceMap !== undefined ? { sourceMap } : { loadSourceMap: sourceMapLoader(opts.module) });
  // A map the user named that gives no wasm mapping (not JSON, a JavaScript file's map) would
  // otherwise be dropped in silence, leaving frames without the file:line asked for.
  if (sourceMap !== undefined && !names.sources().includes('sourcemap')) {
    throw new InputError(`--source-map: ${opts.sourceMap}: not a source map of wasm code (no mapping on generated line 1, as emcc -gsource-map writes)`, 2);
  }
  const t0 = hostNow();
  const now = (): number => hostNow() - t0;
  const engine: Kmemleak = new Kmemleak({
    minAgeMs: opts.minAgeMs,
    ...(opts.earlyPool !== undefined ? { earlyPoolSize: opts.earlyPool } : {}),
    log,
    reportLocation: reportLocation(opts),
    now,
    stack: opts.stack,
    scanPeriodSecs: 0,
    // KMEMLEAK_SCAN_KERNEL=off|on: the JavaScript flood always, or the kernel at any size (for
    // comparisons and bisecting; default auto).
    scanKernel: scanKernelSetting(process.env['KMEMLEAK_SCAN_KERNEL']),
    describer: {
      describe(trace: number): Frame[] {
        const words = engine.depot.frames(trace);
        const out: Frame[] = [];
        for (let i = 0; i + 1 < words.length; i += 2) {
          for (const f of names.frames(words[i]!, words[i + 1]!)) out.push(f);   // inlined functions first
        }
        return out;
      },
    },
  });
  return { engine, names, now };
}

/**
 * Where the objects of a "N new suspected memory leaks" line can be read: while the program runs,
 * the control file (if served); at exit, the report.
 */
export function reportLocation(opts: RunOptions): string {
  return opts.control !== undefined ? `kmemleak ctl ${opts.control}; at exit, ${opts.report ?? 'below'}` : opts.report ?? 'below';
}
