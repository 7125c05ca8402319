/**
 * Threaded modules (Emscripten -pthread, any module with a shared memory) under the embedding API.
 *
 * The rule: `kmemleak.emscripten(factory, { wasm })` runs them under the detector (src/api/threads/:
 * the pthread workers get a bootstrap through the glue's locateFile and their configuration with
 * the glue's 'load' message; every thread's events reach the one engine on the main thread).
 * `instantiate()`, `wrapWebAssembly()` and `instantiateWasmHook()` cannot reach the workers (no
 * locateFile to hand the glue, no message to add to), so there such a module runs WITHOUT the
 * detector and says so in one line: an instrumented module would fail to instantiate in a worker
 * (no `__kmemleak_hooks` there), and tracking the main thread alone would be wrong (a block freed on
 * an untracked thread would stay in the object table and be reported as a leak).
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
  'threaded module (shared memory, e.g. Emscripten -pthread): it runs without the detector here; kmemleak.emscripten(factory, { wasm }) tracks every thread';
