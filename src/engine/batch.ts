/**
 * Events in batches: the layout in which the wasm runtime's event log (src/wasm/runtime/
 * event-log.ts) hands the engine what the allocation wrappers logged, so that a window of
 * thousands of events costs one engine call instead of a chain of calls per event (issue 15).
 *
 * words[from, to) holds (ptr, size, trace) triples of u32: size EVENT_FREE is kmemleak_free(ptr)
 * by the code whose backtrace is `trace`; EVENT_CANCELLED is nothing (an allocation and its free
 * that the log dropped as a pair); anything else is kmemleak_alloc(ptr, size, minCount, trace).
 */

export const EVENT_FREE = 0xffffffff;
export const EVENT_CANCELLED = 0xfffffffe;
/** The same markers read from an Int32Array (small integers for V8, where the above are doubles). */
export const EVENT_FREE_I32 = EVENT_FREE | 0;
export const EVENT_CANCELLED_I32 = EVENT_CANCELLED | 0;

export type FreeFn = (ptr: number, trace: number) => void;

/** The same batch one event at a time through `alloc`/`free` (an engine that is not active yet). */
export function eachEvent(words: Uint32Array, from: number, to: number, alloc: (ptr: number, size: number, trace: number) => void, free: FreeFn): void {
  for (let at = from; at < to; at += 3) {
    const size = words[at + 1];
    if (size === EVENT_CANCELLED) continue;
    if (size === EVENT_FREE) free(words[at], words[at + 2]);
    else alloc(words[at], size, words[at + 2]);
  }
}
