/**
 * Why: the event log's first pass (event-log.ts: an allocation freed later in the same batch
 * never reaches the engine) touches a hash entry per event, and on workloads whose blocks live a
 * few thousand allocations (random-lifetime churn, an interpreter's heap) it was the largest
 * single cost of `kmemleak run` in JavaScript (three typed arrays, three cache misses per event).
 * This is the same pass as a WebAssembly function over the program's own memory, where the log
 * already is: a module of one function, assembled here (no compiler, no committed binary),
 * importing the program's WebAssembly.Memory. JavaScript calls it once per batch.
 *
 *   cancel(base, first, stop, table, gen) -> pairs cancelled
 *     base         byte address of the window's first event (events are named by their index
 *                  from there: 12 bytes each: ptr, size, handle; size 0xffffffff = free)
 *     first, stop  the events to process now, [first, stop): each allocation among them is
 *                  entered in the table; each free whose allocation is pending in the table (from
 *                  this call or an earlier one of the same gen) cancels it: both get size
 *                  CANCELLED (0xfffffffe).
 *     table        PENDING_ENTRIES entries of 8 bytes: ptr, tag. tag = gen << 16 | (event index
 *                  + 1) for a pending allocation, gen << 16 for a tombstone (matches no free,
 *                  keeps probe chains), anything else is empty. So the table is never cleared
 *                  between windows, only when gen wraps (gen is 1..0xffff; the caller zeroes it).
 *
 * Semantics are those of the JavaScript pass it replaces (`cancelPairsReference`, kept for tests
 * and for memories the kernel cannot import): the newest allocation at an address wins, a free
 * cancels the pending allocation at its address if any, else it stays (an older block, a double
 * free: replayed, warnings included).
 *
 * Invariants: the kernel writes only the events' size words and the table; it has no globals, no
 * stack, no data; a window holds at most MAX_EVENTS events (the index must fit 16 bits), and at
 * most PENDING_ENTRIES / 2 allocations (the load, tombstones included, stays <= 1/2).
 */
import { ByteWriter, I32 } from '../binary/index.js';
import { EVENT_CANCELLED, EVENT_FREE } from '../../engine/batch.js';

export const PENDING_BITS = 16;
/** Hash entries: 2x the largest window (event-log.ts LOG_CAPACITY), so the load stays <= 1/2. */
export const PENDING_ENTRIES = 1 << PENDING_BITS;
export const PENDING_BYTES = PENDING_ENTRIES * 8;
export const MAX_EVENTS = 0xffff;
/** The engine's batch layout (src/engine/batch.ts) is the log's. */
export const FREE = EVENT_FREE;
export const CANCELLED = EVENT_CANCELLED;
const EVENT_BYTES = 12;
const HASH = 0x9e3779b1;

export type CancelFn = (base: number, first: number, stop: number, table: number, gen: number) => number;

const LOCAL_GET = 0x20, LOCAL_SET = 0x21, LOCAL_TEE = 0x22, I32_CONST = 0x41, BLOCK = 0x02, LOOP = 0x03,
  IF = 0x04, ELSE = 0x05, END = 0x0b, BR = 0x0c, BR_IF = 0x0d, I32_LOAD = 0x28, I32_STORE = 0x36, I32_EQZ = 0x45,
  I32_EQ = 0x46, I32_NE = 0x47, I32_GE_U = 0x4f, I32_ADD = 0x6a, I32_SUB = 0x6b, I32_MUL = 0x6c, I32_DIV_U = 0x6e,
  I32_AND = 0x71, I32_OR = 0x72, I32_SHL = 0x74, I32_SHR_U = 0x76, VOID = 0x40;

/** The function body: params base, first, stop, table, gen; locals as named below. */
function cancelBody(): Uint8Array {
  const BASE = 0, FIRST = 1, STOP = 2, TABLE = 3, GEN = 4;
  const AT = 5, PTR = 6, H = 7, E = 8, TAG = 9, N = 10, GENHI = 11, EV = 12;
  const w = new ByteWriter(512);
  const op = (b: number): void => w.u8(b);
  const get = (i: number): void => { op(LOCAL_GET); w.u32(i); };
  const set = (i: number): void => { op(LOCAL_SET); w.u32(i); };
  const tee = (i: number): void => { op(LOCAL_TEE); w.u32(i); };
  const c = (v: number): void => { op(I32_CONST); w.s32(v | 0); };
  const load = (offset: number): void => { op(I32_LOAD); w.u32(2); w.u32(offset); };
  const store = (offset: number): void => { op(I32_STORE); w.u32(2); w.u32(offset); };
  /** E = TABLE + H * 8; TAG = its tag. */
  const entry = (): void => {
    get(TABLE); get(H); c(3); op(I32_SHL); op(I32_ADD); tee(E);
    load(4); set(TAG);
  };
  /** H = (H + 1) & mask */
  const nextBucket = (): void => { get(H); c(1); op(I32_ADD); c(PENDING_ENTRIES - 1); op(I32_AND); set(H); };
  /** br_if to `depth` when TAG is not of this generation (an empty entry). */
  const brIfEmpty = (depth: number): void => {
    get(TAG); c(0xffff0000); op(I32_AND); get(GENHI); op(I32_NE); op(BR_IF); w.u32(depth);
  };

  w.u32(1); w.u32(8); w.u8(I32);
  get(GEN); c(16); op(I32_SHL); set(GENHI);
  get(FIRST); set(AT);
  op(BLOCK); op(VOID);            // $done
  op(LOOP); op(VOID);             // $event
  get(AT); get(STOP); op(I32_GE_U); op(BR_IF); w.u32(1);
  get(AT); load(0); tee(PTR);
  c(HASH); op(I32_MUL); c(32 - PENDING_BITS); op(I32_SHR_U); set(H);
  get(AT); load(4); c(-1); op(I32_NE);
  op(IF); op(VOID);
  // An allocation: the first empty entry, tombstone, or entry of the same address takes it.
  op(BLOCK); op(VOID);            // $found
  op(LOOP); op(VOID);
  entry();
  brIfEmpty(1);
  get(TAG); c(0xffff); op(I32_AND); op(I32_EQZ); op(BR_IF); w.u32(1);
  get(E); load(0); get(PTR); op(I32_EQ); op(BR_IF); w.u32(1);
  nextBucket();
  op(BR); w.u32(0);
  op(END);
  op(END);
  get(E); get(PTR); store(0);
  get(E);
  get(AT); get(BASE); op(I32_SUB); c(EVENT_BYTES); op(I32_DIV_U); c(1); op(I32_ADD); get(GENHI); op(I32_OR);
  store(4);
  op(ELSE);
  // A free: the entry of its address, if pending in this batch, cancels both events.
  op(BLOCK); op(VOID);            // $miss
  op(LOOP); op(VOID);
  entry();
  brIfEmpty(1);
  get(E); load(0); get(PTR); op(I32_EQ);
  op(IF); op(VOID);
  get(TAG); c(0xffff); op(I32_AND); tee(EV);
  op(IF); op(VOID);
  get(BASE); get(EV); c(1); op(I32_SUB); c(EVENT_BYTES); op(I32_MUL); op(I32_ADD); c(CANCELLED); store(4);
  get(AT); c(CANCELLED); store(4);
  get(E); get(GENHI); store(4);
  get(N); c(1); op(I32_ADD); set(N);
  op(END);
  op(BR); w.u32(2);
  op(END);
  nextBucket();
  op(BR); w.u32(0);
  op(END);
  op(END);
  op(END);
  get(AT); c(EVENT_BYTES); op(I32_ADD); set(AT);
  op(BR); w.u32(0);
  op(END);
  op(END);
  get(N);
  op(END);
  return w.result();
}

/** The module: imports env.memory (min 0, any maximum), exports cancel. */
function cancelModule(): Uint8Array {
  const w = new ByteWriter(1024);
  const section = (id: number, body: Uint8Array): void => { w.u8(id); w.u32(body.length); w.bytes(body); };
  const sub = (fill: (s: ByteWriter) => void): Uint8Array => { const s = new ByteWriter(64); fill(s); return s.result(); };
  w.bytes(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  section(1, sub((s) => { s.u32(1); s.u8(0x60); s.u32(5); for (let i = 0; i < 5; i++) s.u8(I32); s.u32(1); s.u8(I32); }));
  section(2, sub((s) => { s.u32(1); s.name('env'); s.name('memory'); s.u8(0x02); s.u8(0x00); s.u32(0); }));
  section(3, sub((s) => { s.u32(1); s.u32(0); }));
  section(7, sub((s) => { s.u32(1); s.name('cancel'); s.u8(0x00); s.u32(0); }));
  const body = cancelBody();
  section(10, sub((s) => { s.u32(1); s.u32(body.length); s.bytes(body); }));
  return w.result();
}

let compiled: WebAssembly.Module | null | undefined;

/**
 * The kernel over `memory`, or null when it cannot run there (a shared or 64-bit memory, or no
 * WebAssembly compilation allowed): the caller then runs cancelPairsReference.
 */
export function cancelKernel(memory: WebAssembly.Memory): CancelFn | null {
  try {
    if (compiled === undefined) compiled = new WebAssembly.Module(cancelModule() as Uint8Array<ArrayBuffer>);
    if (!compiled) return null;
    const inst = new WebAssembly.Instance(compiled, { env: { memory } });
    return inst.exports.cancel as CancelFn;
  } catch {
    return null;
  }
}

/**
 * The same pass in JavaScript on a u32 view (word indices `base`, `first`, `stop`; the table at
 * word index `table`): the reference for tests, and the fallback.
 */
export function cancelPairsReference(u32: Uint32Array, base: number, first: number, stop: number, table: number, gen: number): number {
  const genHi = (gen << 16) >>> 0;
  const mask = PENDING_ENTRIES - 1;
  let n = 0;
  for (let at = first; at < stop; at += 3) {
    const ptr = u32[at]!;
    let h = Math.imul(ptr, HASH) >>> (32 - PENDING_BITS);
    if (u32[at + 1] !== FREE) {
      for (;;) {
        const tag = u32[table + 2 * h + 1]!;
        if ((tag & 0xffff0000) >>> 0 !== genHi || (tag & 0xffff) === 0 || u32[table + 2 * h] === ptr) break;
        h = (h + 1) & mask;
      }
      u32[table + 2 * h] = ptr;
      u32[table + 2 * h + 1] = (genHi | ((at - base) / 3 + 1)) >>> 0;
      continue;
    }
    for (;;) {
      const tag = u32[table + 2 * h + 1]!;
      if ((tag & 0xffff0000) >>> 0 !== genHi) break;
      if (u32[table + 2 * h] === ptr) {
        const ev = tag & 0xffff;
        if (ev !== 0) {
          u32[base + 3 * (ev - 1) + 1] = CANCELLED;
          u32[at + 1] = CANCELLED;
          u32[table + 2 * h + 1] = genHi;
          n++;
        }
        break;
      }
      h = (h + 1) & mask;
    }
  }
  return n;
}
