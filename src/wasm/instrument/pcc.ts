/**
 * Probabilistic calling context (Bond & McKinley 2007): which functions and call sites carry the
 * context value, and the per-call-site constants.
 *
 * Why: the runtime captures a JS stack (microseconds) only once per distinct calling context and
 * otherwise reuses the cached backtrace. The value must therefore differ for different call paths
 * (else two paths would share a backtrace: wrong output), and must be cheap (a few instructions
 * per call, only where an allocation can happen below).
 *
 * The scheme: a mutable i64 global CTX. A function that may reach an allocator saves
 * `saved = CTX * 3` at entry (a new local) and sets `CTX = saved + CS` before each call that may
 * reach one (CS a distinct 64-bit constant per call site). A wrapper reads CTX at entry: it is a
 * function of the whole chain of call sites from the entry point. Correct without restoring CTX
 * after calls because every instrumented call site recomputes it from `saved`.
 *
 * Which functions: those that can reach a wrapped allocator or a `kmemleak` annotation import
 * (during such an import call the exported CTX global holds the caller's context, so the
 * runtime can cache annotation backtraces the same way) through direct calls, an indirect
 * call (call_indirect, call_ref and their return_ forms: the target is unknown), or an import
 * that may call back into the module (anything but WASI and the kmemleak imports). Functions
 * that cannot reach an allocator keep CTX untouched, which is safe: no allocation is recorded
 * below them.
 */
import { type WasmModule, type CallGraph, KIND_FUNC, canReach } from '../binary/index.js';

/** Import modules whose functions never call back into the module. */
const NON_REENTRANT = new Set(['wasi_snapshot_preview1', 'wasi_unstable', 'wasi', 'kmemleak', '__kmemleak_hooks']);

/**
 * reach[f] = 1 when calling f may lead to a wrapped allocator. `wrapped` are original indices.
 */
export function reachingFunctions(m: WasmModule, g: CallGraph, wrapped: number[]): Uint8Array {
  const reentrant: number[] = [];
  let fi = 0;
  for (const imp of m.imports) {
    if (imp.kind !== KIND_FUNC) continue;
    // kmemleak annotations record a backtrace too: their callers carry the context as well.
    if (!NON_REENTRANT.has(imp.module) || imp.module === 'kmemleak') reentrant.push(fi);
    fi++;
  }
  return canReach(g, wrapped, true, reentrant);
}

/** murmur3's 32-bit finalizer: a bijection on u32. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The call-site constant for the call instruction at `originalOffset`, as two u32 halves written
 * into `out` (no BigInt on the rewriter's hot loop). The low half is a bijection of the offset,
 * so distinct call sites always get distinct constants; the high half is another mix.
 */
export function callSiteHalves(originalOffset: number, out: Uint32Array): void {
  out[0] = fmix32((originalOffset ^ 0x9e3779b9) >>> 0);
  out[1] = fmix32(Math.imul(originalOffset, 0x7feb352d) ^ 0x68e31da4);
}

const halves = new Uint32Array(2);

/** The same constant as a signed 64-bit bigint. */
export function callSiteConstant(originalOffset: number): bigint {
  callSiteHalves(originalOffset, halves);
  return BigInt.asIntN(64, (BigInt(halves[1]!) << 32n) | BigInt(halves[0]!));
}

/** The context value a wrapper sees, computed in JS (for tests): path = call-site offsets, outermost first. */
export function contextOf(path: number[], entry = 0n): bigint {
  let v = entry;
  for (const cs of path) v = BigInt.asIntN(64, v * 3n + callSiteConstant(cs));
  return v;
}
