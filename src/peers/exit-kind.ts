/**
 * Why: LeakSanitizer checks for leaks when main returns or exit() is called (an atexit handler),
 * not on _exit()/_Exit(), which end the process at once. In wasi-libc all of them end in
 * proc_exit: exit() runs the atexit handlers and destructors and then calls _Exit(), _exit() is
 * _Exit(), and _start calls exit(r) when main returns r != 0. So at proc_exit the frames on the
 * stack tell them apart: exit() among them is a full exit; _Exit/_exit without exit() is a quick
 * one. The frames are V8's (the call is still live inside the proc_exit import), named from the
 * original binary (name section, else DWARF).
 *
 * Invariants: never throws; a stack whose exit frames cannot be named (a stripped binary) counts
 * as a full exit, so the check runs as it did before this module existed.
 */
import { wasmFramesOf } from '../wasm/runtime/stack-capture.js';

export type ExitKind = 'full' | 'quick';

/** Enough frames to see past proc_exit's wrappers to the caller of _Exit. */
const FRAMES = 32;

const FULL = new Set(['exit']);
const QUICK = new Set(['_Exit', '_exit']);

/** The kind of exit whose frames (innermost first) are named by `nameOf`. */
export function exitKindOf(names: ReadonlyArray<string | null>): ExitKind {
  let quick = false;
  for (const n of names) {
    if (n === null) continue;
    if (FULL.has(n)) return 'full';
    if (QUICK.has(n)) quick = true;
  }
  return quick ? 'quick' : 'full';
}

/**
 * Classifies the exit in progress; call from inside the proc_exit import. `originalFunction`
 * maps a rewritten function index back (negative for the detector's own), `functionName` names
 * an original function.
 */
export function classifyExitHere(
  originalFunction: (newIndex: number) => number,
  functionName: (originalIndex: number) => string | null,
): ExitKind {
  const saved = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = FRAMES;
    const frames = wasmFramesOf(new Error('exit'));
    const names: Array<string | null> = [];
    for (const f of frames) {
      const o = originalFunction(f.funcIndex);
      names.push(o >= 0 ? functionName(o) : null);
    }
    return exitKindOf(names);
  } catch {
    return 'full';
  } finally {
    Error.stackTraceLimit = saved;
  }
}
