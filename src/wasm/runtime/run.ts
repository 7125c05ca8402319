/**
 * Why: `kmemleak run` end to end (SPEC §2-§6): read and check the module, instrument it, run it on
 * Node's WASI with the allocator hooks and the `kmemleak` imports wired to the engine, run the exit
 * scan after the program's own exit handlers, write the reports, and choose the exit status.
 *
 * Invariants:
 * - What the program computes, prints and returns is its own; kmemleak only adds lines to stderr
 *   (or the report files) and may replace the exit status (leaks at exit, or 134 after a trap).
 * - The exit scan runs once, after `_start` returned or `proc_exit` was called (exit handlers
 *   have run by then), or after a trap; its stack roots are the frames live at that moment.
 * - Bad input is an InputError (one line); a trap is reported like the program would have shown
 *   it, symbolized, followed by the leaks found so far.
 */
import { basename } from 'node:path';
import { annotationImports, ANNOTATION_MODULE, disabledAnnotationImports } from './annotations.js';
import { AutoScan } from './auto-scan.js';
import { AllocatorFrames, Backtraces } from './backtraces.js';
import { InputError, NoAllocatorError, oneLine } from './errors.js';
import { checkWasiCommand, readModuleInfo, WASI_MODULE, type ModuleInfo } from './module-info.js';
import { RUN_DEFAULTS, TRAP_EXIT, traceDepthProblem, type RunOptions } from './options.js';
import { HookWiring } from './hooks.js';
import { EventLog } from './event-log.js';
import { contextReader, createDetector, globalReader, prepareModule, reportLocation, type Prepared, type ReadModule } from './parts.js';
import { readWithIdentity } from './prepare-index.js';
import { checkReportFiles, printLeaks, writeReports, type ReportSettings } from './reports.js';
import { rootProvider } from './roots.js';
import { watchStartupArgs } from './startup-args.js';
import { describeTrap, isTrap } from './trap-report.js';
import { createWasi } from './wasi-host.js';
import { BlockingWaits } from './waits/blocking-wasi.js';
import { scanAnswer } from './scan-answer.js';
import { scanCommandOf } from './scan-command.js';
import { Symbolizer } from '../../symbolize/index.js';
import { isPeerImport, peerImportsOff, Peers } from '../../peers/peers.js';
import { Kmemleak } from '../../engine/index.js';
import { BaselineError } from '../../triage/baseline.js';
import { loadTriageInputs, readSuppressionFile } from '../../triage/inputs.js';
import { programSuppressions } from '../../triage/program-suppressions.js';
import { SuppressionError } from '../../triage/suppressions.js';

export interface RunIO {
  /** kmemleak's own messages (warnings, the text report, the summary line). */
  err(text: string): void;
  /** File descriptors the program's stdin/stdout/stderr use (default 0, 1, 2). */
  stdin?: number;
  stdout?: number;
  stderr?: number;
  /** Called once the program is instantiated, before it starts (the --control seam). */
  onStart?(session: RunSession): void | Promise<void>;
}

/** What a running program exposes to the control file (SPEC §4 --control). */
export interface RunSession {
  write(cmd: string): string;
  read(): string;
  /** write() with the command's output (the `scan` summary, `dump=` text). */
  control(cmd: string): { error: string | null; output: string };
  /** Registers a function the hooks call at each safe point (the control file's poll). */
  onPoll(poll: () => void): void;
  /**
   * The wake word (shared Int32Array, [0] a sequence) a control file's worker bumps and notifies
   * when a command arrives: a program waiting in a blocking WASI call wakes up to answer it.
   */
  readonly wake?: Int32Array;
  /** Registers a function called after every scan and control command (the read snapshot). */
  onReport?(fn: () => void): void;
}

export interface RunResult {
  /** The exit status kmemleak run returns. */
  status: number;
  /** The program's own exit status (null after a trap). */
  programStatus: number | null;
  trapped: boolean;
  /** Objects listed in the final report. */
  leaks: number;
  /** New suspected leaks found by the exit scan. */
  newLeaks: number;
  /** Stack captures made, and distinct calling contexts seen (the backtrace cache's work). */
  captures: number;
  contexts: number;
}

function readModuleFile(path: string): { bytes: Uint8Array; source: ReadModule } {
  try {
    const { bytes, identity, changedMs } = readWithIdentity(path);
    return { bytes, source: { path, identity, changedMs } };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new InputError(`cannot read ${path}: ${why}`);
  }
}

/** Every import must be one we provide; say which one is not, before V8 says it less clearly. */
function checkImports(info: ModuleInfo, what: string, wasi: Record<string, unknown>, annotations: Record<string, unknown>): void {
  for (const imp of info.imports) {
    if (imp.module === WASI_MODULE && imp.kind === 0 && imp.name in wasi) continue;
    if (imp.module === ANNOTATION_MODULE && imp.kind === 0 && imp.name in annotations) continue;
    if (isPeerImport(imp)) continue;   // LeakSanitizer's env.__lsan_*, Valgrind's requests
    const known = imp.module === WASI_MODULE ? ` (not a WASI preview1 function Node provides)` :
      imp.module === ANNOTATION_MODULE ? ` (the kmemleak imports are: ${Object.keys(annotations).join(', ')})` : '';
    throw new InputError(`${what} imports ${imp.module}.${imp.name}, which kmemleak run cannot provide${known}`);
  }
}

/** A bad suppression or baseline file is a usage error: one line naming file and line, exit 2. */
function triageInputsOf<T>(load: () => T): T {
  try {
    return load();
  } catch (e) {
    if (e instanceof SuppressionError) throw new InputError(`suppressions: ${e.message}`, 2, false);
    if (e instanceof BaselineError) throw new InputError(`--baseline: ${e.message}`, 2, false);
    throw e;
  }
}

function compile(binary: Uint8Array, what: string, rewritten: boolean): WebAssembly.Module {
  try {
    return new WebAssembly.Module(binary as Uint8Array<ArrayBuffer>);
  } catch (e) {
    const msg = e instanceof Error ? e.message.replace(/^WebAssembly\.Module\(\): /, '') : String(e);
    if (rewritten) throw new Error(`the instrumented module does not validate (${msg}); please report this with ${what}`);
    throw new InputError(`${what} is not a valid WebAssembly module: ${msg}`);
  }
}

/**
 * The rewritten module compiled. One from the prepare cache is not validated when read: if it
 * does not compile, the entry is a miss, and `fresh()` prepares the module again.
 */
function compilePrepared(prepared: Prepared, what: string, fresh: () => Prepared): WebAssembly.Module {
  if (prepared.cached) {
    try {
      return new WebAssembly.Module(prepared.instrumented.binary as Uint8Array<ArrayBuffer>);
    } catch {
      return compile(fresh().instrumented.binary, what, true);
    }
  }
  return compile(prepared.instrumented.binary, what, true);
}

/**
 * Throws compile()'s InputError when the input is not valid wasm. Validated, not compiled: the
 * detector runs the rewritten module, and compiling the original as well cost a run its whole
 * code generation again (time, and memory for the code).
 */
function validate(binary: Uint8Array, what: string): void {
  if (!WebAssembly.validate(binary as Uint8Array<ArrayBuffer>)) compile(binary, what, false);
}

/** Runs the original module on plain WASI, as if kmemleak were not there (--off, no allocator). */
async function runUntracked(original: Uint8Array, info: ModuleInfo, host: Awaited<ReturnType<typeof createWasi>>, io: RunIO, what: string): Promise<RunResult> {
  const stubs = disabledAnnotationImports();
  checkImports(info, what, host.imports, stubs);
  const module = compile(original, what, false);
  const instance = await WebAssembly.instantiate(module, { ...peerImportsOff(), [WASI_MODULE]: host.imports, [ANNOTATION_MODULE]: stubs } as WebAssembly.Imports);
  try {
    const status = host.wasi.start(instance) ?? 0;
    return { status, programStatus: status, trapped: false, leaks: 0, newLeaks: 0, captures: 0, contexts: 0 };
  } catch (e) {
    if (!isTrap(e)) throw e;
    io.err(describeTrap(e, null, Symbolizer.fromBinarySync(original)));
    return { status: TRAP_EXIT, programStatus: null, trapped: true, leaks: 0, newLeaks: 0, captures: 0, contexts: 0 };
  }
}

export async function runModule(opts: RunOptions, io: RunIO): Promise<RunResult> {
  const what = opts.module;
  const traceDepth = opts.traceDepth ?? RUN_DEFAULTS.traceDepth;
  const badDepth = traceDepthProblem(traceDepth);
  if (badDepth) throw new InputError(`--trace-depth: ${badDepth}`, 2);
  const { bytes: original, source } = readModuleFile(opts.module);
  const info = readModuleInfo(original, what);
  checkWasiCommand(info, what);

  // The exit handlers have run when proc_exit is called; the live stack then is the exit scan's.
  let exitStackPointer = -1;
  let readStackPointer: () => number = () => -1;
  let noteExit: () => void = () => {};
  const host = await createWasi({
    args: [opts.module, ...opts.args],
    env: opts.env,
    preopens: opts.preopens,
    ...(io.stdin !== undefined ? { stdin: io.stdin } : {}),
    ...(io.stdout !== undefined ? { stdout: io.stdout } : {}),
    ...(io.stderr !== undefined ? { stderr: io.stderr } : {}),
  }, () => { exitStackPointer = readStackPointer(); noteExit(); });

  // LSan's detect_leaks=0 known before the start is --off: the program runs, nothing is checked.
  if (opts.off || opts.lsan?.given.detectLeaks === false) return runUntracked(original, info, host, io, what);

  checkImports(info, what, host.imports, disabledAnnotationImports());
  checkReportFiles(opts);
  const triageInputs = triageInputsOf(() => loadTriageInputs(opts.suppressions ?? [], opts.baseline));

  // A broken input is the user's problem, not the rewriter's: validated before it is rewritten
  // (a prepare cache entry exists only for one that passed).
  const validateOriginal = (): void => validate(original, what);
  let prepared: ReturnType<typeof prepareModule>;
  let module: WebAssembly.Module;
  try {
    prepared = prepareModule(original, opts, source, validateOriginal);
    module = compilePrepared(prepared, what, () => (prepared = prepareModule(original, opts, source, validateOriginal, true)));
  } catch (e) {
    if (!(e instanceof NoAllocatorError)) throw e;
    // Nothing to watch (version tests, pure computations): the program runs as it would without
    // kmemleak, and one line at the end says nothing was tracked and how to name an allocator.
    // The report files are written empty, so a stale one never survives the run.
    const result = await runUntracked(original, info, host, io, what);
    writeReports(new Kmemleak({ scanPeriodSecs: 0 }), opts, io.err, basename(opts.module), { inputs: triageInputs });
    io.err(`kmemleak: nothing was tracked: ${oneLine(e)}\n`);
    return result;
  }
  // Blocking WASI calls are safe points (waits/blocking-wasi.ts; its stdio helper thread starts
  // at the first read or poll of a standard stream that can block).
  // The helper is unref'd: a run that ends by an exception leaves it parked, never keeping the
  // process alive.
  let auto: AutoScan | null = null;
  let poll: (() => void) | null = null;
  let memoryNow: () => ArrayBuffer | null = () => null;
  const waits = new BlockingWaits({
    serve: () => { auto?.tick(true); if (poll) poll(); },
    msUntilScan: () => auto?.msUntilDue() ?? Infinity,
  }, () => memoryNow(), [io.stdin ?? 0, io.stdout ?? 1, io.stderr ?? 2]);

  const ins = prepared.instrumented;
  let wiring: HookWiring | null = null;
  const detector = await createDetector(original, opts, (line) => (wiring ? wiring.log(line) : io.err(line + '\n')));
  const { engine, names } = detector;
  const describe = (trace: number) => engine.describer?.describe(trace) ?? [];
  const traces = new Backtraces(engine.depot, ins, new AllocatorFrames(names, prepared.entryPoints), traceDepth);
  let published: (() => void) | null = null;
  auto = new AutoScan(() => { wiring?.eventLog?.flush(); engine.scan(); published?.(); }, opts.scanPeriodMs, opts.firstScanMs, detector.now);
  const keyed = ins.callingContext && ins.exports.context !== null;
  let lastNew = 0;
  let trap: Error | null = null;
  const program = basename(opts.module);
  let reported = 0;
  // Objects reported before an LSan check's scan: its report announces only the ones it newly
  // reports (reports.ts); taken once, by the report that follows that scan.
  let flaggedBefore: Uint32Array | null = null;
  const reportSettings = (maxLeaks: number): ReportSettings => {
    const before = flaggedBefore;
    flaggedBefore = null;
    return {
      inputs: triageInputs, maxLeaks, reportObjects: opts.reportObjects === true || peers.settings.reportObjects,
      ...(before !== null ? { announce: { before, location: reportLocation(opts) } } : {}),
    };
  };
  const peers: Peers = new Peers({
    engine, opts, imports: info.imports, staticRoots: prepared.staticRoots,
    flush: () => { wiring?.eventLog?.flush(); },
    scan: (announce) => {
      flaggedBefore = announce ? null : engine.flaggedSlots();
      lastNew = engine.exitScan(announce);
    },
    // Only leaks that are neither suppressed nor in the baseline count for LSan's verdicts and the
    // exit status (SPEC §7); `reported` keeps how many objects the final report listed.
    printLeaks: () => printLeaks(engine, io.err, program, reportSettings(peers.settings.maxLeaks)).newLeaks,
    writeFinal: (maxLeaks) => {
      const r = writeReports(engine, opts, io.err, program, reportSettings(maxLeaks));
      reported = r.leaks;
      if (r.announced !== null) lastNew = r.announced;
      return r.newLeaks;
    },
    die: (status) => host.exit(status),
    ignoreAllocations: (delta) => w.ignoreAllocations(delta),
    traceHere: () => w.annotationTrace(),
    enter: () => w.enter(),
    leave: () => w.leave(),
    log: (line) => (wiring ? wiring.log(line) : io.err(line + '\n')),
    print: io.err,
  });
  wiring = new HookWiring(peers.port(engine), traces, keyed, (force) => { auto.tick(force); if (poll) poll(); }, io.err, describe);
  const w = wiring;
  const annotations = annotationImports(engine, () => w.annotationTrace(), w);

  // argv's blocks are told by the WASI argument calls around them (start-up code, not leaks);
  // their backtrace's __main_void says it too, but only when the binary still names its functions.
  const wasiImports = waits.wrap(watchStartupArgs(host.imports, (open) => w.startupWindow(open), () => memoryNow()));
  const imports: WebAssembly.Imports = {
    ...peers.imports(),
    [WASI_MODULE]: wasiImports,
    [ANNOTATION_MODULE]: annotations,
    [ins.hookModule]: wiring.imports(ins.hooks),
  } as WebAssembly.Imports;
  // A start function runs inside instantiate, before _start: its blocks go to the early pool.
  engine.setContext('(start)', 1);
  const instance = await WebAssembly.instantiate(module, imports);
  const memory = instance.exports[ins.exports.memory] as WebAssembly.Memory;
  noteExit = () => peers.noteExit((i) => ins.originalFunction(i), (i) => names.functionName(i), original);
  memoryNow = () => memory.buffer;
  readStackPointer = globalReader(instance, ins.exports.stackPointer);
  wiring.readContext = contextReader(instance, ins.exports.context);

  const logGlobals = ins.exports.eventLog;
  // KMEMLEAK_FAST_PATH=off: every event takes its hook (for comparisons and bisecting).
  if (keyed && logGlobals && process.env['KMEMLEAK_FAST_PATH'] !== 'off') {
    const g = (name: string) => instance.exports[name] as WebAssembly.Global;
    const log = new EventLog(memory, { pos: g(logGlobals.pos), end: g(logGlobals.end), start: g(logGlobals.start), knownBase: g(logGlobals.knownBase), knownMask: g(logGlobals.knownMask) }, wiring.events);
    const rawMalloc = instance.exports[logGlobals.rawMalloc] as (size: number) => number;
    wiring.enableEventLog = () => (log.enable(rawMalloc) ? log : null);
  }
  // Scans borrow scratch for the flood kernel from gaps in the heap only, else flood in
  // JavaScript (issue 12, peak memory): pages grown while the program runs would stay a zeroed,
  // resident hole under its heap, whose sbrk starts above them; pages grown for the exit scan
  // (~19 bytes an object) would raise the peak of every large run. KMEMLEAK_SCAN_KERNEL=on (the
  // kernel for every scan) grows the memory when it must (WASI's libc takes pages from
  // memory.grow and this runtime re-reads memory.buffer), within half its declared maximum.
  const maxPages = info.memoryMaxPages;
  const heap = { memory, mayGrow: process.env['KMEMLEAK_SCAN_KERNEL'] === 'on', ...(maxPages !== null ? { maxBytes: maxPages * 65536 } : {}) };
  engine.attachMemory(() => memory.buffer, heap);
  // The program's own __lsan_default_options, before its first allocation (and the roots' settings).
  const exportsNow = instance.exports;
  peers.start(exportsNow, memory, () => { if (trap) (exportsNow[ins.exports.reset] as () => void)(); });
  const roots = rootProvider(peers.roots(prepared.staticRoots), prepared.stackTop === null ? null : {
    enabled: () => engine.stackEnabled,
    pointer: () => (exitStackPointer >= 0 ? exitStackPointer : readStackPointer()),
    top: prepared.stackTop,
  }, () => memory.buffer.byteLength);
  engine.setRootProvider((add) => { roots(add); peers.checks.addRoots(add); });
  engine.setContext('_start', 1);

  const flushEvents = (): void => { wiring?.eventLog?.flush(); };
  const control = (cmd: string): { error: string | null; output: string } => {
    flushEvents();
    const sc = scanCommandOf(cmd);
    // `scan` answers with what it found, and why a first scan shows nothing (scan-answer.ts).
    if (sc?.kind === 'scan' && engine.enabled) {
      const n = engine.scan();
      published?.();
      return { error: null, output: scanAnswer(n, opts.minAgeMs, opts.control) };
    }
    const r = engine.control(cmd);
    // Automatic scans are this file's (auto-scan.ts), not the engine's timer, which cannot
    // fire while the program holds the thread: mirror the accepted scan= commands there.
    if (r.error === null && sc !== null && sc.kind !== 'scan') {
      engine.stop();
      if (sc.kind === 'on') auto.start();
      else if (sc.kind === 'off') auto.stop();
      else auto.setPeriod(sc.ms);
    }
    published?.();
    return { error: r.error, output: r.output };
  };
  const session: RunSession = {
    write: (cmd) => control(cmd).error ?? '',
    control,
    read: () => { flushEvents(); return engine.read(); },
    onPoll: (fn) => { poll = fn; },
    wake: waits.wake,
    onReport: (fn) => { published = fn; },
  };
  // Suppressions in LSan's order: files first (--suppressions, then LSAN_OPTIONS' or the program's
  // __lsan_default_options' suppressions=FILE), then the program's __lsan_default_suppressions().
  const lsanFile = peers.settings.suppressions;
  if (lsanFile) triageInputs.suppressions.push(...triageInputsOf(() => readSuppressionFile(lsanFile)));
  triageInputs.suppressions.push(...triageInputsOf(() => programSuppressions(instance.exports, () => memory.buffer)));
  await io.onStart?.(session);

  let programStatus: number | null = null;
  const savedLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = Math.max(savedLimit, 64);   // a trap's backtrace, not just 10 frames
  try {
    programStatus = host.wasi.start(instance) ?? 0;
  } catch (e) {
    if (!isTrap(e)) throw e;
    trap = e;
  } finally {
    Error.stackTraceLimit = savedLimit;
  }
  if (trap) io.err(describeTrap(trap, ins, names));

  flushEvents();
  // LSan's exit check: when main returns or exit() is called, not after _exit(), and only once
  // (__lsan_do_leak_check may have run it). Report files are written in every case.
  const checks = peers.checks;
  const due = peers.exitCheckDue(trap !== null);
  const unknownLeaks = due ? checks.final(false) : checks.finalDone ? checks.finalLeaks : 0;
  // No check wrote the report files (_exit, leak_check_at_exit=0, checks turned off): empty ones.
  if (!checks.reportsWritten) writeReports(engine, opts, io.err, program, reportSettings(0), true);
  await waits.close();
  // Frames printed as wasm-function[N]: say once why, and how to build so that they have names.
  const unnamed = reported > 0 || trap ? names.unnamedReason() : null;
  if (unnamed) io.err(`kmemleak: ${unnamed}\n`);
  const exitcode = peers.settings.exitcode;
  const status = trap ? TRAP_EXIT : checks.diedWith ?? (unknownLeaks > 0 && exitcode !== 0 ? exitcode : programStatus!);
  return { status, programStatus, trapped: trap !== null, leaks: reported, newLeaks: lastNew, captures: traces.captures, contexts: traces.contexts };
}
