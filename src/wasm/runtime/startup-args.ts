/**
 * Why: argv and its strings, allocated by the C library's start-up code and held only by its
 * frames, must not be reported (kmemleak_not_leak, as the kernel does for boot-time blocks).
 * A backtrace that starts in __main_void says so (backtraces.ts), but only when the binary still
 * names its functions: with stacks off (`--trace-depth 0`) there is no backtrace, and a one-step
 * optimised build (clang -O1 -g with binaryen on PATH: wasm-opt drops the name section and leaves
 * DWARF's addresses zero) has no names. wasi-libc's start-up brackets exactly those two
 * allocations with WASI calls: args_sizes_get, then malloc(argv_buf) and calloc(argv), then
 * args_get. This wraps the two imports so that the allocations between them are start-up
 * blocks, with no stack capture and no name needed; `kmemleak run` always uses it.
 *
 * Invariants: only the first successful args_sizes_get can open the window, and only when it
 * reports at least one argument (with none, wasi-libc calls main without args_get and the window
 * would never close); it closes at the next args_get; it never reopens (a Rust program re-reading its arguments
 * later is not start-up code). Other imports, and both calls' results, are untouched; the
 * host's import object is not modified (a copy is returned).
 */

/** Opens (true) and closes (false) the start-up window: HookWiring.startupWindow. */
export type StartupWindow = (open: boolean) => void;

type WasiFn = (this: unknown, ...args: number[]) => number;

/**
 * A copy of a WASI preview1 import object whose argument calls drive `window`. `memory` gives the
 * program's memory (null before it is known: then no window opens).
 */
export function watchStartupArgs(
  wasi: Record<string, unknown>,
  window: StartupWindow,
  memory: () => ArrayBuffer | null,
): Record<string, unknown> {
  const sizesGet = wasi['args_sizes_get'];
  const argsGet = wasi['args_get'];
  if (typeof sizesGet !== 'function' || typeof argsGet !== 'function') return wasi;
  let state: 'before' | 'open' | 'done' = 'before';
  const out: Record<string, unknown> = { ...wasi };
  out['args_sizes_get'] = (argcPtr: number, bufSizePtr: number): number => {
    const r = (sizesGet as WasiFn).call(wasi, argcPtr, bufSizePtr);
    if (state === 'before' && r === 0) {
      const buf = memory();
      const at = argcPtr >>> 0;
      const argc = buf && at + 4 <= buf.byteLength ? new DataView(buf).getUint32(at, true) : 0;
      state = argc > 0 ? 'open' : 'done';
      if (argc > 0) window(true);
    }
    return r;
  };
  out['args_get'] = (argv: number, argvBuf: number): number => {
    if (state === 'open') {
      state = 'done';
      window(false);
    }
    return (argsGet as WasiFn).call(wasi, argv, argvBuf);
  };
  return out;
}
