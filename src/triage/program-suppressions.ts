/**
 * Why: a program's own suppressions, as LeakSanitizer reads them: the program exports
 * `__lsan_default_suppressions`, a function returning a C string in its linear memory.
 *
 * Invariants: the function is called once, with no arguments, before the program's `_start` (or,
 * in the embedding API, right after instantiation), unwrapped; its string is read up to the first
 * NUL, at most DEFAULT_SUPPRESSIONS_MAX bytes, as UTF-8, and parsed as a suppressions file named
 * `__lsan_default_suppressions`. A trap, a non-pointer result or a bad line is a SuppressionError.
 * No Node APIs (the browser bundle takes it).
 */
import { parseSuppressions, SuppressionError, type Suppression } from './suppressions.js';

export const DEFAULT_SUPPRESSIONS_EXPORT = '__lsan_default_suppressions';
const DEFAULT_SUPPRESSIONS_MAX = 1 << 20;

/** The NUL-terminated string at `ptr`, or null when ptr is 0 or outside the memory. */
export function readCString(buffer: ArrayBufferLike, ptr: number, max = DEFAULT_SUPPRESSIONS_MAX): string | null {
  const at = ptr >>> 0;
  if (at === 0 || at >= buffer.byteLength) return null;
  const bytes = new Uint8Array(buffer, at, Math.min(max, buffer.byteLength - at));
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end >= 0 ? bytes.subarray(0, end) : bytes);
}

/**
 * The program's own suppressions: calls its exported `__lsan_default_suppressions` (if any) and
 * parses the string it returns. A trap in it, or a bad line, is a SuppressionError.
 */
export function programSuppressions(exports: WebAssembly.Exports, buffer: () => ArrayBufferLike): Suppression[] {
  const fn = exports[DEFAULT_SUPPRESSIONS_EXPORT];
  if (typeof fn !== 'function') return [];
  let ptr: unknown;
  try {
    ptr = (fn as () => unknown)();
  } catch (e) {
    throw new SuppressionError(DEFAULT_SUPPRESSIONS_EXPORT, 0, `the program's function failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof ptr !== 'number') throw new SuppressionError(DEFAULT_SUPPRESSIONS_EXPORT, 0, 'expected a function returning a pointer (i32)');
  const text = readCString(buffer(), ptr);
  return text === null ? [] : parseSuppressions(text, DEFAULT_SUPPRESSIONS_EXPORT);
}
