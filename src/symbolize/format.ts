/**
 * The kernel's `%pS` layout for a symbolized frame, plus file:line as decode_stacktrace adds it:
 * `make_lost+0x1c/0x53 simple.c:12`. A frame nothing names prints as `wasm-function[N]+0x1c/0x53`
 * (V8's name for it), so every frame stays identifiable.
 */
import type { Frame } from './frame.js';

export function formatFrame(f: Frame): string {
  const name = f.function ?? `wasm-function[${f.funcIndex}]`;
  let s = `${name}+0x${f.offset.toString(16)}/0x${f.size.toString(16)}`;
  if (f.file !== undefined && f.line !== undefined) s += ` ${f.file}:${f.line}`;
  return s;
}
