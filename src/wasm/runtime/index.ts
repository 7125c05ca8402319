/**
 * The WASI runtime of `kmemleak run` (SPEC §2-§6): runs an unmodified WASI preview1 command under
 * the detector and reports its leaks at exit.
 *
 * API
 *   runModule(opts: RunOptions, io: RunIO): Promise<RunResult>
 *     opts   validated options (options.ts; the command line builds them in src/cli/parse-run.ts)
 *     io     { err(text) for kmemleak's messages, stdin/stdout/stderr fds for the program,
 *              onStart(session) called before _start: the --control seam }
 *     -> { status (what `kmemleak run` exits with), programStatus, trapped, leaks, newLeaks,
 *          captures, contexts }
 *     Throws InputError (one-line message, exitCode 1 or 2) for bad input: unreadable file, not
 *     wasm, not a WASI command, an import nobody provides, a bad --allocator name (the rewriter's
 *     message), an unwritable report path. Anything else thrown is a bug. No allocator found
 *     (none named): the program runs untracked, then one line "kmemleak: nothing was tracked: ...".
 *   RunSession { write(cmd): string; read(): string }   the control file of the running program
 *
 * Flow: module-info.ts (checks) -> parts.ts (instrument, layout, symbolizer, engine) ->
 * wasi-host.ts (Node's WASI, proc_exit records the stack pointer) -> hooks.ts / annotations.ts
 * (imports wired to the engine, backtraces.ts + context-cache.ts + stack-capture.ts for traces,
 * at most opts.traceDepth frames, none at 0 where startup-args.ts tells argv's blocks instead;
 * auto-scan.ts for periodic scans) -> roots.ts (static data minus allocator state, live stack) ->
 * _start -> trap-report.ts -> engine.exitScan() -> reports.ts.
 *
 * Exit status: the program's own; `exitcode` (default 23) when the final report lists leaks and
 * exitcode != 0; 134 after a trap or call-stack exhaustion.
 */
export { runModule, type RunIO, type RunResult, type RunSession } from './run.js';
export { RUN_DEFAULTS, TRAP_EXIT, traceDepthProblem, type RunOptions, type AllocatorNames } from './options.js';
export { InputError, oneLine } from './errors.js';
export { annotationImports, disabledAnnotationImports, ANNOTATION_MODULE } from './annotations.js';
export { HookWiring } from './hooks.js';
export { AllocatorFrames, Backtraces, type FrameSource } from './backtraces.js';
export { MAX_TRACE, StackCapture, parseV8Stack, wasmFramesOf, type OriginalMap } from './stack-capture.js';
export { isAllocatorName, isStartupName } from './allocator-frames.js';
export type { EnginePort, DepotPort } from './engine-port.js';
