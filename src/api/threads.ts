/**
 * Threaded modules (Emscripten -pthread, any module with a shared memory) under the embedding
 * API. The rule today: such a module runs WITHOUT the detector, and says so in one line.
 *
 * Why not instrument it: Emscripten's pthread glue sends the module it got from
 * Module.instantiateWasm to each worker (postMessage {cmd:'load', wasmModule, wasmMemory}), and the
 * worker instantiates it with its own glue's imports (`new WebAssembly.Instance(module, info)`),
 * which have no `__kmemleak_hooks`: the instrumented module fails there, the worker never reports
 * "loaded", and the main thread blocks for good in Atomics.wait (pthread_join) or the factory
 * never resolves. Even with hooks in the workers, each thread's allocations would have to reach
 * the one engine on the main thread (the hooks are JS functions of the main isolate), and a
 * block freed on a thread the detector does not see would stay in the object table and be
 * reported as a leak. Giving workers the original module keeps every thread running the same,
 * unmodified allocator; reporting nothing is true, reporting main-thread events only is not.
 *
 * Invariants: pure, never throws (a module that does not parse is not called threaded here: the
 * detector's own parse reports it).
 */
import { parseModule } from '../wasm/binary/index.js';

/** True when the module imports or defines a shared linear memory (built with threads). */
export function hasSharedMemory(bytes: Uint8Array): boolean {
  try {
    const m = parseModule(bytes);
    return m.memories.some((mem) => mem.shared) || m.imports.some((i) => i.memory?.shared === true);
  } catch {
    return false;
  }
}

export const THREADED_UNTRACKED =
  'threaded module (shared memory, e.g. Emscripten -pthread): it runs without the detector, no thread is tracked (issue 18)';
