/**
 * Why: a warm `kmemleak run` checks the prepare cache entry's checksum (prepare-cache.ts) over
 * the whole entry (100-250 KB) once, at start, when the JavaScript loop still runs in V8's
 * interpreter: 4-15 ms of a start whose detector costs ~20 ms in all. This is the same checksum as
 * a WebAssembly function (Liftoff compiles it in well under a millisecond and runs it at ~1 byte a
 * cycle): a module of one function over a memory made for it, assembled here (no committed
 * binary).
 *
 *   sum(start, end)   checksum of the memory's bytes [start, end), written as two little-endian
 *                     u32 at bytes 0..8 (the digest prepare-cache.ts's `checksum` returns).
 *
 * Invariants: the result is bit for bit `checksum()`'s (test/runtime/prepare-cache.test.ts
 * compares them); data must start at DATA or above (bytes 0..DATA are the output).
 */
import { ByteWriter, I32 } from '../binary/index.js';

/** Where the data goes in the kernel's memory (the digest is written below it). */
export const DATA = 16;

const LOCAL_GET = 0x20, LOCAL_SET = 0x21, I32_CONST = 0x41, BLOCK = 0x02, LOOP = 0x03,
  END = 0x0b, BR = 0x0c, BR_IF = 0x0d, I32_LOAD = 0x28, I32_LOAD8_U = 0x2d, I32_STORE = 0x36, I32_GE_U = 0x4f,
  I32_ADD = 0x6a, I32_SUB = 0x6b, I32_MUL = 0x6c, I32_XOR = 0x73, I32_SHR_U = 0x76, VOID = 0x40;

/** The function body: params start, end; locals p, a, b, w, stop. */
function sumBody(): Uint8Array {
  const START = 0, STOP_AT = 1, P = 2, A = 3, B = 4, W = 5, STOP = 6;
  const w = new ByteWriter(256);
  const op = (b: number): void => w.u8(b);
  const get = (i: number): void => { op(LOCAL_GET); w.u32(i); };
  const set = (i: number): void => { op(LOCAL_SET); w.u32(i); };
  const c = (v: number): void => { op(I32_CONST); w.s32(v | 0); };
  /** a = imul(a ^ W, 0x01000193); b = imul(b + W, 0x9e3779b1) ^ (b >>> 15) */
  const mix = (): void => {
    get(A); get(W); op(I32_XOR); c(0x01000193); op(I32_MUL); set(A);
    get(B); get(W); op(I32_ADD); c(0x9e3779b1); op(I32_MUL); get(B); c(15); op(I32_SHR_U); op(I32_XOR); set(B);
  };
  /** A loop over P up to `stop` (a local), `step` bytes at a time, W loaded by `load`. */
  const loop = (stop: number, load: () => void, step: number): void => {
    op(BLOCK); op(VOID);
    op(LOOP); op(VOID);
    get(P); get(stop); op(I32_GE_U); op(BR_IF); w.u32(1);
    get(P); load(); set(W);
    mix();
    get(P); c(step); op(I32_ADD); set(P);
    op(BR); w.u32(0);
    op(END);
    op(END);
  };
  w.u32(1); w.u32(5); w.u8(I32);
  c(0x811c9dc5); set(A);
  c(0x2545f491); set(B);
  get(START); set(P);
  // Whole words while four bytes are left (end - 3 cannot wrap: end >= start >= DATA).
  get(STOP_AT); c(3); op(I32_SUB); set(STOP);
  loop(STOP, () => { op(I32_LOAD); w.u32(0); w.u32(0); }, 4);
  loop(STOP_AT, () => { op(I32_LOAD8_U); w.u32(0); w.u32(0); }, 1);
  get(A); get(STOP_AT); get(START); op(I32_SUB); op(I32_XOR); c(0x01000193); op(I32_MUL); set(A);
  c(0); get(A); get(A); c(16); op(I32_SHR_U); op(I32_XOR); op(I32_STORE); w.u32(2); w.u32(0);
  c(0); get(B); get(B); c(13); op(I32_SHR_U); op(I32_XOR); op(I32_STORE); w.u32(2); w.u32(4);
  op(END);
  return w.result();
}

/** The module: imports env.memory (min 0), exports sum. */
function sumModule(): Uint8Array {
  const w = new ByteWriter(512);
  const section = (id: number, body: Uint8Array): void => { w.u8(id); w.u32(body.length); w.bytes(body); };
  const sub = (fill: (s: ByteWriter) => void): Uint8Array => { const s = new ByteWriter(64); fill(s); return s.result(); };
  w.bytes(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  section(1, sub((s) => { s.u32(1); s.u8(0x60); s.u32(2); s.u8(I32); s.u8(I32); s.u32(0); }));
  section(2, sub((s) => { s.u32(1); s.name('env'); s.name('memory'); s.u8(0x02); s.u8(0x00); s.u32(0); }));
  section(3, sub((s) => { s.u32(1); s.u32(0); }));
  section(7, sub((s) => { s.u32(1); s.name('sum'); s.u8(0x00); s.u32(0); }));
  const body = sumBody();
  section(10, sub((s) => { s.u32(1); s.u32(body.length); s.bytes(body); }));
  return w.result();
}

export interface SumKernel {
  memory: WebAssembly.Memory;
  sum(start: number, end: number): void;
}

/**
 * A kernel over a memory of its own that holds `bytes` from DATA on (made at that size: nothing
 * grows a memory, which tests watch for the program's), or null where WebAssembly cannot be
 * compiled.
 */
export function checksumKernel(bytes: number): SumKernel | null {
  try {
    const memory = new WebAssembly.Memory({ initial: Math.ceil((DATA + bytes) / 65536) });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(sumModule() as Uint8Array<ArrayBuffer>), { env: { memory } });
    return { memory, sum: inst.exports['sum'] as (s: number, e: number) => void };
  } catch {
    return null;
  }
}
