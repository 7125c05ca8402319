/**
 * Why: LeakSanitizer checks for leaks when main returns or exit() is called (an atexit handler),
 * not on _exit()/_Exit(), which end the process at once. In wasi-libc all of them end in
 * proc_exit: exit() runs the atexit handlers and destructors and then calls _Exit(), _exit() is
 * _Exit(), and _start calls exit(r) when main returns r != 0. So at proc_exit the frames on the
 * stack tell them apart: exit() among them is a full exit; _Exit/_exit without exit() is a quick
 * one. The frames are V8's (the call is still live inside the proc_exit import), named from the
 * original binary (name section, else DWARF).
 *
 * Without names (a stripped binary) the frames are judged by their code's shape (exit-shape.ts):
 * past the forwarders to proc_exit, an exit()-shaped caller is a full exit, any other a quick one.
 *
 * Invariants: never throws; frames that can be judged neither way count as a full exit, so the
 * check runs as it did before this module existed.
 */
import { wasmFramesOf } from '../wasm/runtime/stack-capture.js';
import type { ExitShapes } from './exit-shape.js';

export type ExitKind = 'full' | 'quick';

/** Enough frames to see past proc_exit's wrappers to the caller of _Exit. */
const FRAMES = 32;

const FULL = new Set(['exit']);
const QUICK = new Set(['_Exit', '_exit']);

/** The kind of exit whose frames (innermost first) have these names; null when none is telling. */
export function exitKindOf(names: ReadonlyArray<string | null>): ExitKind | null {
  let quick = false;
  for (const n of names) {
    if (n === null) continue;
    if (FULL.has(n)) return 'full';
    if (QUICK.has(n)) quick = true;
  }
  return quick ? 'quick' : null;
}

/** The kind of exit whose frames (original indices, innermost first) have these shapes. */
export function exitKindByShape(frames: readonly number[], shapes: ExitShapes): ExitKind {
  let i = 0;
  while (i < frames.length && shapes.forwarders.has(frames[i]!)) i++;
  if (i === 0 || i >= frames.length) return 'full';   // not on wasi-libc's path: as before
  return shapes.exits.has(frames[i]!) ? 'full' : 'quick';
}

/**
 * Classifies the exit in progress; call from inside the proc_exit import. `originalFunction`
 * maps a rewritten function index back (negative for the detector's own), `functionName` names
 * an original function, `shapes` reads the exit path's shapes (called only when names say nothing).
 */
export function classifyExitHere(
  originalFunction: (newIndex: number) => number,
  functionName: (originalIndex: number) => string | null,
  shapes: () => ExitShapes,
): ExitKind {
  const saved = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = FRAMES;
    const frames = wasmFramesOf(new Error('exit'));
    const names: Array<string | null> = [];
    const originals: number[] = [];
    for (const f of frames) {
      const o = originalFunction(f.funcIndex);
      if (o < 0) continue;   // the detector's own (wrappers, trampolines)
      originals.push(o);
      names.push(functionName(o));
    }
    return exitKindOf(names) ?? exitKindByShape(originals, shapes());
  } catch {
    return 'full';
  } finally {
    Error.stackTraceLimit = saved;
  }
}
