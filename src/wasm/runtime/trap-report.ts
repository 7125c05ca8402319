/**
 * Why: a trap (unreachable, out-of-bounds access, stack exhaustion) ends the program the way a
 * crash does. The user sees it as the program would have shown it, the error and its wasm
 * backtrace, but symbolized in the original binary (`func+0xoff/0xsize file:line`, as reports print
 * when DWARF says) instead of V8's raw `wasm-function[N]:0xOFF` in the rewritten module.
 *
 * Invariants: never throws (a frame that cannot be symbolized prints raw); the detector's own
 * functions (no original) are left out; the first line is `Name: message` as V8 prints it; a run
 * of identical frames (recursion) prints once with a count.
 */
import { formatFrame } from '../../report/text.js';
import type { FrameSource } from './backtraces.js';
import { wasmFramesOf, type OriginalMap } from './stack-capture.js';

/** True for what a wasm program's failure looks like to the host (trap or stack exhaustion). */
export function isTrap(err: unknown): err is Error {
  if (err instanceof WebAssembly.RuntimeError) return true;
  return err instanceof RangeError && /call stack/i.test(err.message);
}

const hex = (n: number): string => '0x' + n.toString(16);

export function describeTrap(err: Error, map: OriginalMap | null, names: FrameSource | null): string {
  const lines = [`${err.name}: ${err.message}`];
  // Deep recursion repeats one frame dozens of times: say so once.
  let last = '';
  let repeats = 0;
  const flush = (): void => {
    if (repeats > 0) lines.push(`    ... (the frame above repeated ${repeats} more time${repeats > 1 ? 's' : ''})`);
    repeats = 0;
  };
  for (const raw of wasmFramesOf(err)) {
    let fn = raw.funcIndex;
    let off = raw.offset;
    if (map) {
      const of = map.originalFunction(fn);
      if (of === undefined || of === null || of < 0) continue;
      const oo = map.originalOffset(off);
      fn = of;
      off = oo === undefined || oo === null || oo < 0 ? 0 : oo;
    }
    let text = `wasm-function[${fn}]:${hex(off)}`;
    if (names) {
      try {
        const f = names.frame(fn, off);
        if (f.size > 0) text = formatFrame(f);
      } catch { /* keep the raw form */ }
    }
    const line = `    at ${text}`;
    if (line === last) { repeats++; continue; }
    flush();
    lines.push(line);
    last = line;
  }
  flush();
  return lines.join('\n') + '\n';
}
