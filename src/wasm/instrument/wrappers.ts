/**
 * The bodies of the allocator wrappers W_F.
 *
 * Why: every reference to an allocator entry F is redirected to W_F; W_F calls F unchanged and
 * tells the runtime what happened, once per call that returns to the program. A nesting depth
 * global makes calls that allocators make to each other (calloc -> malloc, realloc -> malloc/free,
 * operator new -> malloc) invisible: only the outermost wrapper (depth 0 at entry) reports.
 *
 * Hook contract (imports from module `__kmemleak_hooks`; all i32 unless said):
 *   alloc(ptr, size, ctxLo, ctxHi)        a block [ptr, ptr+size) now belongs to the program.
 *                                         Never called with ptr 0; size may be 0 (malloc(0)).
 *                                         calloc: size = n*m; posix_memalign: ptr = *out, only
 *                                         when it returned 0.
 *   free(ptr)                             called BEFORE the real free, never with ptr 0 (free(NULL)
 *                                         is a no-op). Also called after realloc(p, 0) returned 0
 *                                         (p was freed).
 *   realloc(old, new, size, ctxLo, ctxHi) realloc returned new != 0: `old` (when not 0) is gone
 *                                         and [new, new+size) belongs to the program (new may equal
 *                                         old). realloc(NULL, n) arrives here with old = 0. A failed
 *                                         realloc (returned 0 with size != 0) calls no hook: the
 *                                         old block stays.
 * ctxLo/ctxHi are the low and high halves of the calling-context value at the wrapper's entry,
 * or 0, 0 when calling-context instrumentation is off.
 */
import { ByteWriter, I32, I64 } from '../binary/index.js';
import type { AllocShape } from './allocators.js';

export interface WrapperIndices {
  /** New index of the original function F (what the wrapper calls). */
  target: number;
  depthGlobal: number;
  /** -1 when calling-context instrumentation is off. */
  ctxGlobal: number;
  hookAlloc: number;
  hookFree: number;
  hookRealloc: number;
}

const LOCAL_GET = 0x20, LOCAL_SET = 0x21, LOCAL_TEE = 0x22, GLOBAL_GET = 0x23, GLOBAL_SET = 0x24, I32_CONST = 0x41,
  I64_CONST = 0x42, CALL = 0x10, BLOCK = 0x02, IF = 0x04, ELSE = 0x05, END = 0x0b, BR_IF = 0x0d, I32_ADD = 0x6a,
  I32_MUL = 0x6c, I32_AND = 0x71, I32_EQZ = 0x45, I32_NE = 0x47, I32_WRAP_I64 = 0xa7, I64_SHR_U = 0x88,
  I32_LOAD = 0x28, VOID = 0x40;

/** Encodes the body (locals + code, without the size prefix) of the wrapper for F. */
export function wrapperBody(shape: AllocShape, nParams: number, returns: boolean, ix: WrapperIndices): Uint8Array {
  const w = new ByteWriter(128);
  const R = nParams; // i32 result of F
  const P = nParams + 1; // i32 scratch (posix_memalign's block)
  const C = nParams + 2; // i64 entry context
  w.u32(2);
  w.u32(2); w.u8(I32);
  w.u32(1); w.u8(I64);
  const op = (b: number): void => w.u8(b);
  const lget = (i: number): void => { op(LOCAL_GET); w.u32(i); };
  const call = (f: number): void => { op(CALL); w.u32(f); };
  const ctxArgs = (): void => {
    if (ix.ctxGlobal < 0) {
      op(I32_CONST); w.s32(0);
      op(I32_CONST); w.s32(0);
      return;
    }
    lget(C); op(I32_WRAP_I64);
    lget(C); op(I64_CONST); w.s64(32n); op(I64_SHR_U); op(I32_WRAP_I64);
  };
  const depthAdd = (d: number): void => {
    op(GLOBAL_GET); w.u32(ix.depthGlobal);
    op(I32_CONST); w.s32(d);
    op(I32_ADD);
    op(GLOBAL_SET); w.u32(ix.depthGlobal);
  };
  const callTarget = (): void => {
    depthAdd(1);
    for (let i = 0; i < nParams; i++) lget(i);
    call(ix.target);
    if (returns) { op(LOCAL_SET); w.u32(R); }
    depthAdd(-1);
  };
  /** block; skip unless depth == 0 */
  const outermostOnly = (): void => {
    op(BLOCK); op(VOID);
    op(GLOBAL_GET); w.u32(ix.depthGlobal);
    op(BR_IF); w.u32(0);
  };
  if (ix.ctxGlobal >= 0) {
    op(GLOBAL_GET); w.u32(ix.ctxGlobal);
    op(LOCAL_SET); w.u32(C);
  }
  switch (shape.kind) {
    case 'alloc':
      callTarget();
      outermostOnly();
      lget(R); op(I32_EQZ); op(BR_IF); w.u32(0);
      lget(R);
      lget(shape.size);
      if (shape.count !== undefined) { lget(shape.count); op(I32_MUL); }
      ctxArgs();
      call(ix.hookAlloc);
      op(END);
      lget(R);
      break;
    case 'free':
      outermostOnly();
      lget(shape.ptr); op(I32_EQZ); op(BR_IF); w.u32(0);
      lget(shape.ptr); call(ix.hookFree);
      op(END);
      callTarget();
      if (returns) lget(R);
      break;
    case 'realloc':
      callTarget();
      outermostOnly();
      lget(R);
      op(IF); op(VOID);
      lget(shape.ptr); lget(R); lget(shape.size); ctxArgs(); call(ix.hookRealloc);
      op(ELSE);
      lget(shape.size); op(I32_EQZ);
      lget(shape.ptr); op(I32_CONST); w.s32(0); op(I32_NE);
      op(I32_AND);
      op(IF); op(VOID);
      lget(shape.ptr); call(ix.hookFree);
      op(END);
      op(END);
      op(END);
      lget(R);
      break;
    case 'posix_memalign':
      callTarget();
      outermostOnly();
      lget(R); op(BR_IF); w.u32(0);
      lget(shape.out); op(I32_LOAD); w.u32(2); w.u32(0);
      op(LOCAL_TEE); w.u32(P);
      op(I32_EQZ); op(BR_IF); w.u32(0);
      lget(P); lget(shape.size); ctxArgs(); call(ix.hookAlloc);
      op(END);
      lget(R);
      break;
  }
  op(END);
  return w.result();
}

/**
 * An export's entry trampoline: zeroes the calling context when entered from the host with no
 * wasm frame live (entry level 0), counts the level, and calls the export's target.
 */
export function trampolineBody(nParams: number, target: number, ctxGlobal: number, levelGlobal: number): Uint8Array {
  const w = new ByteWriter(64);
  const op = (b: number): void => w.u8(b);
  w.u32(0);
  op(GLOBAL_GET); w.u32(levelGlobal);
  op(I32_EQZ);
  op(IF); op(VOID);
  op(I64_CONST); w.s64(0n);
  op(GLOBAL_SET); w.u32(ctxGlobal);
  op(END);
  const level = (d: number): void => {
    op(GLOBAL_GET); w.u32(levelGlobal);
    op(I32_CONST); w.s32(d);
    op(I32_ADD);
    op(GLOBAL_SET); w.u32(levelGlobal);
  };
  level(1);
  for (let i = 0; i < nParams; i++) { op(LOCAL_GET); w.u32(i); }
  op(CALL); w.u32(target);
  level(-1);
  op(END);
  return w.result();
}

/**
 * `__kmemleak_reset()`: zeroes the nesting depth, the context and the entry level. A trap that
 * unwinds through a wrapper or a trampoline skips their decrements; the host calls this before
 * calling into the module again.
 */
export function resetBody(depthGlobal: number, ctxGlobal: number, levelGlobal: number): Uint8Array {
  const w = new ByteWriter(32);
  w.u32(0);
  w.u8(I32_CONST); w.s32(0);
  w.u8(GLOBAL_SET); w.u32(depthGlobal);
  if (ctxGlobal >= 0) {
    w.u8(I64_CONST); w.s64(0n);
    w.u8(GLOBAL_SET); w.u32(ctxGlobal);
    w.u8(I32_CONST); w.s32(0);
    w.u8(GLOBAL_SET); w.u32(levelGlobal);
  }
  w.u8(END);
  return w.result();
}
