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
 *   free(ptr, ctxLo, ctxHi)               called BEFORE the real free, never with ptr 0 (free(NULL)
 *                                         is a no-op). Also called after realloc(p, 0) returned 0
 *                                         (p was freed).
 *   realloc(old, new, size, ctxLo, ctxHi) realloc returned new != 0: `old` (when not 0) is gone
 *                                         and [new, new+size) belongs to the program (new may equal
 *                                         old). realloc(NULL, n) arrives here with old = 0. A failed
 *                                         realloc (returned 0 with size != 0) calls no hook: the
 *                                         old block stays.
 *   flush()                               the event log (below) is full.
 * ctxLo/ctxHi are the low and high halves of the calling-context value at the wrapper's entry,
 * or 0, 0 when calling-context instrumentation is off.
 *
 * The fast path (calling context on, see event-log.ts): before calling the alloc or free hook, the
 * wrapper looks its context up in the known-context table that the host keeps in linear memory
 * (`known(ctx)` -> the backtrace handle the host stored for it, or -1). A known context means the
 * host has the stack already: the wrapper appends (ptr, size, handle) to the event log itself,
 * inline, instead of leaving wasm (size 0xffffffff marks a free; a free of a block whose allocation
 * is still in the log's window cancels that event instead, found through the recent-allocation
 * table, and lowers logEnd by the events the log did not keep, so cancelled pairs use up the batch
 * too), and calls flush() when the log reaches the end the host set for this batch (logEnd, read
 * at every append: the host resizes batches). An unknown
 * context takes the hook, whose host side captures the stack and adds the context to the table.
 * With the table's base 0 (the host did not set it up) every event takes its hook.
 *
 * Each wrapper keeps a one-entry cache of known(): the last context that known() answered with a
 * handle, and that handle (two globals, initially 0 and -1). A repeated context (a loop calling
 * malloc from one place) skips the table probe. This relies on event-log.ts: a table entry is
 * only ever added, never removed or changed, so a handle once returned for a context stays its
 * handle for the instance's life. -1 is never cached: an unknown context keeps taking its hook
 * until the host has captured its stack. (The cache's initial pair (0, -1) is right as it stands:
 * the host never stores context 0, so known(0) is -1.) Measured: bench/RESULTS.md, "Wrapper fast
 * path (one-entry cache)".
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
  /** The rest is the fast path's, all -1 without it. The known-context lookup function. */
  known: number;
  /** This wrapper's one-entry cache of known(): the last known context (i64), its handle (i32). */
  cacheCtxGlobal: number;
  cacheHandleGlobal: number;
  /** The known-context table's base: the recent-allocation table lies RECENT_OFFSET above it. */
  knownBase: number;
  /** The event log: next free byte, end, start (see event-log.ts) and the flush hook. */
  logPos: number;
  logEnd: number;
  logStart: number;
  hookFlush: number;
}

const LOCAL_GET = 0x20, LOCAL_SET = 0x21, LOCAL_TEE = 0x22, GLOBAL_GET = 0x23, GLOBAL_SET = 0x24, I32_CONST = 0x41,
  I64_CONST = 0x42, CALL = 0x10, BLOCK = 0x02, LOOP = 0x03, IF = 0x04, ELSE = 0x05, END = 0x0b, BR = 0x0c,
  BR_IF = 0x0d, RETURN = 0x0f, UNREACHABLE = 0x00, I32_ADD = 0x6a, I32_SUB = 0x6b, I32_MUL = 0x6c, I32_AND = 0x71,
  I32_XOR = 0x73, I32_SHL = 0x74, I32_SHR_U = 0x76, I32_EQZ = 0x45, I32_EQ = 0x46, I32_NE = 0x47, I32_LT_U = 0x49,
  I32_GE_U = 0x4f, I64_EQ = 0x51, I32_WRAP_I64 = 0xa7, I64_SHR_U = 0x88, I32_LOAD = 0x28, I64_LOAD = 0x29,
  I32_STORE = 0x36, VOID = 0x40;

/** The hash of a context in the known-context table; event-log.ts computes the same in JS. */
export const KNOWN_HASH_MULTIPLIER = 0x9e3779b1;
/** Bytes per known-context entry: key (i64), handle + 1 (i32, 0 = empty), padding. */
export const KNOWN_ENTRY_BYTES = 16;
/** Bytes per event: ptr, size (0xffffffff = free), backtrace handle. */
export const EVENT_BYTES = 12;
/** An event's size word: a free, and an allocation cancelled with its free (engine/batch.ts). */
const SIZE_FREE = -1;
const SIZE_CANCELLED = -2;
/**
 * The recent-allocation table: RECENT_ENTRIES words at knownBase + RECENT_OFFSET (right after the
 * known-context table, event-log.ts lays it out), slot hash(ptr) holding the log address of the
 * last allocation event logged for an address with that hash. Direct-mapped: a newer allocation
 * with the same hash takes the slot, and the older block's pair then reaches the engine.
 */
export const RECENT_BITS = 16;
export const RECENT_ENTRIES = 1 << RECENT_BITS;
export const RECENT_OFFSET = (1 << 14) * KNOWN_ENTRY_BYTES;
/** An address's slot: (ptr >> RECENT_SHIFT) mod RECENT_ENTRIES. */
export const RECENT_SHIFT = 4;
/**
 * `start` when the window does not use the table (the host found it barren): allocations do not
 * write their slot, frees neither read it nor cancel. Switched only between windows.
 */
export const NO_WINDOW = -1;

/** Encodes the body (locals + code, without the size prefix) of the wrapper for F. */
export function wrapperBody(shape: AllocShape, nParams: number, returns: boolean, ix: WrapperIndices): Uint8Array {
  const w = new ByteWriter(192);
  const R = nParams; // i32 result of F
  const P = nParams + 1; // i32 scratch (posix_memalign's block)
  const S = nParams + 2; // i32 the block's size
  const H = nParams + 3; // i32 the context's backtrace handle (fast path)
  const Q = nParams + 4; // i32 the event's address in the log (fast path)
  const T = nParams + 5; // i32 the address's slot in the recent-allocation table (fast path)
  const C = nParams + 6; // i64 entry context
  w.u32(2);
  w.u32(6); w.u8(I32);
  w.u32(1); w.u8(I64);
  const op = (b: number): void => w.u8(b);
  const lget = (i: number): void => { op(LOCAL_GET); w.u32(i); };
  const lset = (i: number): void => { op(LOCAL_SET); w.u32(i); };
  const ltee = (i: number): void => { op(LOCAL_TEE); w.u32(i); };
  const gget = (i: number): void => { op(GLOBAL_GET); w.u32(i); };
  const gset = (i: number): void => { op(GLOBAL_SET); w.u32(i); };
  const i32c = (v: number): void => { op(I32_CONST); w.s32(v); };
  const call = (f: number): void => { op(CALL); w.u32(f); };
  const ctxArgs = (): void => {
    if (ix.ctxGlobal < 0) {
      i32c(0);
      i32c(0);
      return;
    }
    lget(C); op(I32_WRAP_I64);
    lget(C); op(I64_CONST); w.s64(32n); op(I64_SHR_U); op(I32_WRAP_I64);
  };
  const depthAdd = (d: number): void => {
    gget(ix.depthGlobal); i32c(d); op(I32_ADD); gset(ix.depthGlobal);
  };
  const callTarget = (): void => {
    depthAdd(1);
    for (let i = 0; i < nParams; i++) lget(i);
    call(ix.target);
    if (returns) lset(R);
    depthAdd(-1);
  };
  /** T = the slot of `ptr` in the recent-allocation table (its address less RECENT_OFFSET). */
  const recentSlot = (ptr: number): void => {
    gget(ix.knownBase);
    lget(ptr); i32c(RECENT_SHIFT - 2); op(I32_SHR_U); i32c((RECENT_ENTRIES - 1) << 2); op(I32_AND);
    op(I32_ADD); lset(T);
  };
  /** Whether this window uses the recent-allocation table: `start` is NO_WINDOW when not. */
  const tableOn = (): void => { gget(ix.logStart); i32c(NO_WINDOW); op(I32_NE); };
  /** Lowers the batch's end by `events` and calls flush when the log has reached it. */
  const spend = (events: number): void => {
    gget(ix.logEnd); i32c(events * EVENT_BYTES); op(I32_SUB); gset(ix.logEnd);
    gget(ix.logPos); gget(ix.logEnd); op(I32_GE_U);
    op(IF); op(VOID); call(ix.hookFlush); op(END);
  };
  /**
   * A free's cancelling (see appendEvent): when the recent-allocation table names its block's
   * allocation in this window, cancels it and branches to `done` (label depth counted from
   * where this code starts); else falls through.
   */
  const cancelFree = (ptr: number, done: number): void => {
    tableOn();
    op(IF); op(VOID);
    recentSlot(ptr);
    lget(T); op(I32_LOAD); w.u32(2); w.u32(RECENT_OFFSET); ltee(Q);
    gget(ix.logStart); op(I32_GE_U);
    lget(Q); gget(ix.logPos); op(I32_LT_U);
    op(I32_AND);
    op(IF); op(VOID);
    lget(Q); op(I32_LOAD); w.u32(2); w.u32(0); lget(ptr); op(I32_EQ);
    lget(Q); op(I32_LOAD); w.u32(2); w.u32(4); i32c(SIZE_CANCELLED); op(I32_LT_U);
    op(I32_AND);
    op(IF); op(VOID);
    lget(Q); i32c(EVENT_BYTES); op(I32_ADD); gget(ix.logPos); op(I32_EQ);
    op(IF); op(VOID);
    lget(Q); gset(ix.logPos);
    spend(2);
    op(ELSE);
    lget(Q); i32c(SIZE_CANCELLED); op(I32_STORE); w.u32(2); w.u32(4);
    spend(1);
    op(END);
    op(BR); w.u32(done + 3);
    op(END);
    op(END);
    op(END);
  };
  /**
   * Appends the event (ptr, S or FREE, H) to the log, an allocation's address to the
   * recent-allocation table (unless `start` is NO_WINDOW). A free whose block's allocation the table names, still in this
   * window (at or after `start`, before `pos`) and not cancelled, cancels it instead and is not
   * logged: the allocation's size becomes CANCELLED, or, when it is the last event, it is taken
   * back. Either way the pair still spends two events of the batch (logEnd is lowered by what
   * the log did not keep): a loop that only allocates and frees must reach flush (the host's safe
   * point) as often as one that logs. Then branches to `done`, the label depth (counted from
   * where this code starts) of a block whose end skips the rest of the record. cancelFirst
   * false: the caller has tried cancelFree already.
   */
  const appendEvent = (ptr: number, isFree: boolean, done: number, cancelFirst = isFree): void => {
    if (cancelFirst) cancelFree(ptr, done);
    gget(ix.logPos); ltee(Q);
    lget(ptr); op(I32_STORE); w.u32(2); w.u32(0);
    lget(Q); if (isFree) i32c(SIZE_FREE); else lget(S); op(I32_STORE); w.u32(2); w.u32(4);
    lget(Q); lget(H); op(I32_STORE); w.u32(2); w.u32(8);
    if (!isFree) {
      tableOn();
      op(IF); op(VOID);
      recentSlot(ptr);
      lget(T); lget(Q); op(I32_STORE); w.u32(2); w.u32(RECENT_OFFSET);
      op(END);
    }
    lget(Q); i32c(EVENT_BYTES); op(I32_ADD); ltee(Q); gset(ix.logPos);
    lget(Q); gget(ix.logEnd); op(I32_GE_U);
    op(IF); op(VOID); call(ix.hookFlush); op(END);
  };
  /**
   * Records an allocation of [ptr, ptr+S) (isFree: a free of ptr): the event log when the context
   * is known, else the hook. Sits directly in the block that outermostOnly opens.
   */
  const record = (ptr: number, isFree: boolean): void => {
    const slow = (): void => {
      lget(ptr);
      if (!isFree) lget(S);
      ctxArgs();
      call(isFree ? ix.hookFree : ix.hookAlloc);
    };
    if (ix.known < 0 || ix.ctxGlobal < 0) { slow(); return; }
    // A free that cancels its block's allocation needs no backtrace handle (the pair never
    // reaches the engine, nor a warning): cancelled before the context is looked up, which in
    // a program with many call paths (an interpreter) misses the one-entry cache.
    if (isFree) cancelFree(ptr, 0);
    knownHandle();
    op(IF); op(VOID);
    appendEvent(ptr, isFree, 1, false);
    op(ELSE);
    slow();
    op(END);
  };
  /** H = C == cached context ? cached handle : known(C), which is cached unless -1; leaves H != -1. */
  const knownHandle = (): void => {
    lget(C); gget(ix.cacheCtxGlobal); op(I64_EQ);
    op(IF); op(I32);
    gget(ix.cacheHandleGlobal);
    op(ELSE);
    lget(C); call(ix.known); ltee(H);
    i32c(-1); op(I32_NE);
    op(IF); op(VOID);
    lget(C); gset(ix.cacheCtxGlobal);
    lget(H); gset(ix.cacheHandleGlobal);
    op(END);
    lget(H);
    op(END);
    ltee(H);
    i32c(-1); op(I32_NE);
  };
  /**
   * Records a realloc that returned R (not 0): when the context is known, a free of `old` (when
   * not 0) and an allocation of [R, R+size) in the log, as the hook would replay them; else the
   * hook. A realloc that grows a block in place (old == R) twice in one batch cancels its
   * previous allocation event in place, like a malloc/free pair.
   */
  const reallocRecord = (old: number, size: number): void => {
    const slow = (): void => { lget(old); lget(R); lget(size); ctxArgs(); call(ix.hookRealloc); };
    if (ix.known < 0 || ix.ctxGlobal < 0) { slow(); return; }
    knownHandle();
    op(IF); op(VOID);
    lget(old);
    op(IF); op(VOID);
    op(BLOCK); op(VOID);
    appendEvent(old, true, 0);
    op(END);
    op(END);
    lget(size); lset(S);
    appendEvent(R, false, 0);
    op(ELSE);
    slow();
    op(END);
  };
  /** block; skip unless depth == 0 */
  const outermostOnly = (): void => {
    op(BLOCK); op(VOID);
    gget(ix.depthGlobal);
    op(BR_IF); w.u32(0);
  };
  if (ix.ctxGlobal >= 0) {
    gget(ix.ctxGlobal);
    lset(C);
  }
  switch (shape.kind) {
    case 'alloc':
      callTarget();
      outermostOnly();
      lget(R); op(I32_EQZ); op(BR_IF); w.u32(0);
      lget(shape.size);
      if (shape.count !== undefined) { lget(shape.count); op(I32_MUL); }
      lset(S);
      record(R, false);
      op(END);
      lget(R);
      break;
    case 'free':
      outermostOnly();
      lget(shape.ptr); op(I32_EQZ); op(BR_IF); w.u32(0);
      record(shape.ptr, true);
      op(END);
      callTarget();
      if (returns) lget(R);
      break;
    case 'realloc':
      callTarget();
      outermostOnly();
      lget(R);
      op(IF); op(VOID);
      reallocRecord(shape.ptr, shape.size);
      op(ELSE);
      lget(shape.size); op(I32_EQZ);
      lget(shape.ptr); i32c(0); op(I32_NE);
      op(I32_AND);
      op(IF); op(VOID);
      lget(shape.ptr); ctxArgs(); call(ix.hookFree);
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
      ltee(P);
      op(I32_EQZ); op(BR_IF); w.u32(0);
      lget(shape.size); lset(S);
      record(P, false);
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

/**
 * `known(ctx: i64) -> i32`: the backtrace handle the host stored for ctx in the known-context
 * table (open addressing, linear probing, at global knownBase with mask knownMask), or -1 when
 * ctx is not there or the table is off (knownBase 0).
 */
export function knownBody(baseGlobal: number, maskGlobal: number): Uint8Array {
  const w = new ByteWriter(128);
  const op = (b: number): void => w.u8(b);
  const CTX = 0, BASE = 1, IDX = 2, ADDR = 3, V = 4;
  w.u32(1); w.u32(4); w.u8(I32);
  const lget = (i: number): void => { op(LOCAL_GET); w.u32(i); };
  const lset = (i: number): void => { op(LOCAL_SET); w.u32(i); };
  const ltee = (i: number): void => { op(LOCAL_TEE); w.u32(i); };
  op(GLOBAL_GET); w.u32(baseGlobal); ltee(BASE); op(I32_EQZ);
  op(IF); op(VOID); op(I32_CONST); w.s32(-1); op(RETURN); op(END);
  // h = (lo ^ hi) * K; h ^= h >>> 15; idx = h & mask
  lget(CTX); op(I32_WRAP_I64);
  lget(CTX); op(I64_CONST); w.s64(32n); op(I64_SHR_U); op(I32_WRAP_I64);
  op(I32_XOR);
  op(I32_CONST); w.s32(KNOWN_HASH_MULTIPLIER | 0); op(I32_MUL); ltee(IDX);
  lget(IDX); op(I32_CONST); w.s32(15); op(I32_SHR_U); op(I32_XOR);
  op(GLOBAL_GET); w.u32(maskGlobal); op(I32_AND); lset(IDX);
  op(LOOP); op(VOID);
  lget(BASE); lget(IDX); op(I32_CONST); w.s32(4); op(I32_SHL); op(I32_ADD); ltee(ADDR);
  op(I32_LOAD); w.u32(2); w.u32(8); ltee(V); op(I32_EQZ);
  op(IF); op(VOID); op(I32_CONST); w.s32(-1); op(RETURN); op(END);
  lget(ADDR); op(I64_LOAD); w.u32(3); w.u32(0); lget(CTX); op(I64_EQ);
  op(IF); op(VOID); lget(V); op(I32_CONST); w.s32(1); op(I32_SUB); op(RETURN); op(END);
  lget(IDX); op(I32_CONST); w.s32(1); op(I32_ADD); op(GLOBAL_GET); w.u32(maskGlobal); op(I32_AND); lset(IDX);
  op(BR); w.u32(0);
  op(END);
  op(UNREACHABLE);
  op(END);
  return w.result();
}
