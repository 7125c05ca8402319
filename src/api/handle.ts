/**
 * The handle the embedding API returns for one instrumented instance: kmemleak's control file
 * (write/read), scans, reports, annotations by address, root regions registered from JS, and
 * `comm`, the export the host called.
 *
 * The safe-point rule (what the README states): wasm locals and the operand stack cannot be read
 * by any host, so a scan is only exact when no wasm frame is live.
 * - Automatic scans (--scan/--first-scan, scan=SECS) and scans asked for from JS (`scan()`,
 *   `write('scan')`, the control socket) run only when no wasm frame is live: between host
 *   calls, on the event loop. One asked for while wasm runs (from an import the program called)
 *   is deferred to the next safe point: the moment the outermost export call returns.
 * - The `scan` import a program calls itself (kmemleak.scan, SPEC §5) runs at once, inside wasm:
 *   static data and the live part of the shadow stack are scanned, locals are not, and objects
 *   younger than the minimum age (--min-age, 5 s by default) are never reported by it.
 * - A pointer kept only in JS is invisible to every scan: register it (registerRoot).
 *
 * Invariants: no method throws on a bad address or command (the engine warns through its log,
 * write() answers the error text); close() stops every timer and control socket it started.
 */
import type { Kmemleak, LeakRecord } from '../engine/index.js';
import { engineHandler } from '../control/handler.js';
import type { ControlServer } from '../control/server.js';
import type { Answer } from '../control/protocol.js';
import type { CallTracker } from './calls.js';
import { RootRegistry } from './roots.js';
import { watchSideModules, type SideModuleWatch } from './side-modules.js';
import { cachedDescribe, triagedLeaks, triageNow } from './triage.js';
import { exitReportNow, type ExitReport } from './exit-report.js';
import type { Frame } from '../symbolize/frame.js';
import type { Site } from '../triage/sites.js';
import type { Suppression } from '../triage/suppressions.js';
import type { Triage } from '../triage/triage.js';

export interface HandleParts {
  engine: Kmemleak;
  tracker: CallTracker;
  roots: RootRegistry;
  instance: WebAssembly.Instance;
  module: WebAssembly.Module;
  /** Marks the block containing ptr as held by the host (undone by release); null when unsupported. */
  hold?: ((ptr: number) => void) | undefined;
  release?: ((ptr: number) => void) | undefined;
  log: (line: string) => void;
  /** Names of the allocator entry points the rewriter wrapped. */
  allocators: string[];
  /** The instance's linear memory (null for an untracked instance). */
  memory?: WebAssembly.Memory | null;
  /** The module is relocatable (Emscripten dynamic linking: it may load side modules). */
  relocatable?: boolean;
  /** LeakSanitizer suppressions (the options' and the program's own __lsan_default_suppressions). */
  suppressions?: Suppression[];
  /** Brings the engine up to date before it is read (a threaded program's other threads' events). */
  sync?: () => void;
  /** Called once by close(). */
  onClose?: () => void;
}

export class KmemleakHandle {
  /** The instance, with exports wrapped (calls through them set comm and mark wasm as live). */
  readonly instance: WebAssembly.Instance;
  /** The instrumented module the instance runs. */
  readonly module: WebAssembly.Module;
  readonly engine: Kmemleak;
  /** Allocator entry points found and wrapped. */
  readonly allocators: readonly string[];
  private readonly tracker: CallTracker;
  private readonly roots: RootRegistry;
  private readonly servers = new Set<ControlServer>();
  private readonly parts: HandleParts;
  private closed = false;
  private sideWatch: SideModuleWatch | null = null;

  constructor(parts: HandleParts) {
    this.parts = parts;
    this.instance = parts.instance;
    this.module = parts.module;
    this.engine = parts.engine;
    this.tracker = parts.tracker;
    this.roots = parts.roots;
    this.allocators = parts.allocators;
  }

  /** The wrapped exports (same as instance.exports). */
  get exports(): WebAssembly.Exports {
    return this.instance.exports;
  }

  /** The export the host called last (kmemleak's comm). */
  get comm(): string {
    return this.tracker.comm;
  }

  /** True while a wasm frame is live (inside an export call, or an import it made). */
  get inWasm(): boolean {
    return this.tracker.inWasm;
  }

  /**
   * kmemleak's control file write: '' on success, else the error text. `scan` asked for while
   * wasm runs is deferred to the next safe point (and answers '').
   */
  write(cmd: string): string {
    const c = cmd.trim();
    if (this.tracker.inWasm && /^scan(?!=)/.test(c)) {
      if (!this.engine.enabled) return this.engine.write(cmd);
      this.tracker.whenSafe(() => void this.engine.scan());
      return '';
    }
    return this.engine.write(cmd);
  }

  /** kmemleak's control file read: the report of reported, still unreferenced objects. */
  read(): string {
    this.parts.sync?.();
    return this.engine.read();
  }

  /**
   * The reported objects as records (the JSON report's "leaks"), each with its kind and site
   * (SPEC §7); suppressed objects are left out. The heap is read now for their pointer graph.
   */
  leaks(): LeakRecord[] {
    this.parts.sync?.();
    const describe = cachedDescribe(this.engine);
    return triagedLeaks(this.engine, this.triage(describe), describe);
  }

  /** The leak sites (SPEC §7): new ones by retained bytes, then suppressed ones. */
  sites(): Site[] {
    this.parts.sync?.();
    return this.triage(cachedDescribe(this.engine)).sites;
  }

  private triage(describe: (trace: number) => Frame[]): Triage {
    return triageNow(this.engine, describe, this.parts.suppressions ?? [], null);
  }

  /**
   * One scan, now when no wasm frame is live, else at the next safe point. Resolves to the
   * number of new suspected leaks (kmemleak logs the "N new suspected memory leaks" line).
   */
  scan(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.tracker.whenSafe(() => {
        try {
          resolve(this.engine.scan());
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  /**
   * The final scan (minimum age 0, automatic scans stop): what `kmemleak run` does at exit.
   * Call it when the program is done; with wasm frames live it runs at the next safe point.
   */
  exitScan(): Promise<number> {
    return new Promise((resolve) => this.tracker.whenSafe(() => resolve(this.engine.exitScan())));
  }

  /**
   * The exit scan now, synchronously, even with wasm frames live, and `kmemleak run`'s exit report
   * (exit-report.ts). Only for the program's exit path (exit is a safe point: no frame returns):
   * emscripten()'s `exitReport` option calls it from the glue's onExit.
   */
  exitReportNow(status: number): ExitReport {
    this.parts.sync?.();
    return exitReportNow(this.engine, this.parts.suppressions ?? [], status);
  }

  notLeak(ptr: number): void {
    this.engine.notLeak(ptr >>> 0);
  }
  transientLeak(ptr: number): void {
    this.engine.transientLeak(ptr >>> 0);
  }
  ignore(ptr: number): void {
    this.engine.ignore(ptr >>> 0);
  }
  noScan(ptr: number): void {
    this.engine.noScan(ptr >>> 0);
  }
  scanArea(ptr: number, offset: number, length: number): void {
    this.engine.scanArea(ptr >>> 0, offset >>> 0, length >>> 0);
  }
  /** Text of kmemleak's dump_object_info for the block containing addr, or null. */
  dump(addr: number): string | null {
    this.parts.sync?.();
    return this.engine.dumpObject(addr >>> 0);
  }

  /**
   * Registers [ptr, ptr + len) as a root region (LeakSanitizer's __lsan_register_root_region):
   * scanned at every scan, and the block it lies in counts as referenced, since the host holds
   * it. Use it for pointers kept only in JS. Registering the same start again replaces the length.
   */
  registerRoot(ptr: number, len: number): void {
    const p = ptr >>> 0;
    const fresh = !this.roots.list().some((r) => r.start === p);
    this.roots.register(p, len);
    if (fresh) this.parts.hold?.(p);
  }

  /** The root regions registered (by registerRoot, or for side modules), sorted by start. */
  rootRegions(): Array<{ start: number; end: number }> {
    return this.roots.list();
  }

  /** Forgets the root region that starts at ptr; returns whether there was one. */
  unregisterRoot(ptr: number): boolean {
    const p = ptr >>> 0;
    const had = this.roots.unregister(p);
    if (had) this.parts.release?.(p);
    return had;
  }

  /**
   * Learns real export names from an object the JS glue filled with the exports (Emscripten's
   * Module: `Module._sqlite3_open = wasmExports.Ha`), so comm shows the real name.
   */
  learnNames(glue: object): number {
    return this.tracker.learnNames(glue);
  }

  /** The handler the control socket uses: writes as write() (never inside wasm: event loop). */
  controlHandler(): (cmd: string) => Answer {
    const base = engineHandler(this.engine);
    return (cmd) => base(cmd) as Answer;
  }

  /** Serves this handle's control file on a Unix socket (Node only); closed by close(). */
  async serveControl(path: string): Promise<ControlServer> {
    const { serveControl } = await import('../control/server.js');
    const s = await serveControl(path, this.controlHandler());
    this.servers.add(s);
    return s;
  }

  /** Whether the module is relocatable (Emscripten MAIN_MODULE: it can load side modules). */
  get relocatable(): boolean {
    return this.parts.relocatable ?? false;
  }

  /**
   * Registers the static data of Emscripten side modules loaded from now on (until close()) as
   * root regions; see side-modules.ts. The embedding helpers call it for relocatable modules.
   */
  watchSideModules(): void {
    if (this.sideWatch || this.closed || !this.parts.memory) return;
    this.sideWatch = watchSideModules(this.parts.memory, (start, len) => this.registerRoot(start, len));
  }

  /**
   * Stops automatic scanning, the control sockets and the side-module watch. Tracking goes on;
   * reads still work.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sideWatch?.stop();
    this.sideWatch = null;
    this.parts.onClose?.();
    this.engine.stop();
    for (const s of this.servers) await s.close();
    this.servers.clear();
  }
}
