/**
 * The event log's cancel pass (src/wasm/runtime/cancel-kernel.ts): the WebAssembly kernel and its
 * JavaScript reference against a model (a Map of pending allocations: the newest allocation at an
 * address wins, a free cancels the pending one at its address, at most once), over random
 * windows with few addresses (many collisions, reuse, double frees), each passed in random
 * segments (as the event log's safe points do), several generations in one table, a wrap.
 */
import { expect, test } from 'vitest';
import fc from 'fast-check';
import { CANCELLED, FREE, PENDING_BYTES, cancelKernel, cancelPairsReference } from '../../src/wasm/runtime/cancel-kernel.js';

type Ev = { ptr: number; free: boolean };

function model(batch: Ev[]): boolean[] {
  const cancelled = batch.map(() => false);
  const pending = new Map<number, number>();
  batch.forEach((e, i) => {
    if (!e.free) { pending.set(e.ptr, i); return; }
    const a = pending.get(e.ptr);
    if (a !== undefined) { cancelled[a] = cancelled[i] = true; pending.delete(e.ptr); }
  });
  return cancelled;
}

const TABLE = 65536;
const LOG = TABLE + PENDING_BYTES;

function write(u32: Uint32Array, batch: Ev[]): void {
  batch.forEach((e, i) => {
    u32[LOG / 4 + 3 * i] = e.ptr;
    u32[LOG / 4 + 3 * i + 1] = e.free ? FREE : 16 + (i & 7);
    u32[LOG / 4 + 3 * i + 2] = 7;
  });
}

function read(u32: Uint32Array, batch: Ev[]): boolean[] {
  return batch.map((_, i) => u32[LOG / 4 + 3 * i + 1] === CANCELLED);
}

const ev = fc.record({ ptr: fc.integer({ min: 1, max: 40 }).map((p) => (p * 0x1000 + (p & 3) * 0x7fff0010) >>> 0), free: fc.boolean() });

test('the kernel and the reference cancel exactly the pairs the model does, across segments and generations', () => {
  const memory = new WebAssembly.Memory({ initial: 32 });
  const kernel = cancelKernel(memory);
  expect(kernel, 'the cancel kernel did not instantiate').not.toBeNull();
  const shadow = new Uint32Array(memory.buffer.byteLength / 4);
  const u32 = new Uint32Array(memory.buffer);
  let gen = 0;
  fc.assert(
    fc.property(fc.array(ev, { maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 4 }), (batch, cuts) => {
      gen = gen >= 0xffff ? 1 : gen + 1;
      write(u32, batch);
      write(shadow, batch);
      const bounds = [...new Set([0, ...cuts.filter((c) => c < batch.length), batch.length])].sort((a, b) => a - b);
      let n = 0, nRef = 0;
      for (let i = 0; i + 1 < bounds.length; i++) {
        n += kernel!(LOG, LOG + 12 * bounds[i]!, LOG + 12 * bounds[i + 1]!, TABLE, gen);
        nRef += cancelPairsReference(shadow, LOG / 4, LOG / 4 + 3 * bounds[i]!, LOG / 4 + 3 * bounds[i + 1]!, TABLE / 4, gen);
      }
      const want = model(batch);
      expect(read(u32, batch)).toEqual(want);
      expect(read(shadow, batch)).toEqual(want);
      expect(n).toBe(nRef);
      expect(n).toBe(want.filter(Boolean).length / 2);
      // the table is the same word for word (the reference is the kernel's exact specification)
      let differ = -1;
      for (let i = TABLE / 4; i < LOG / 4 && differ < 0; i++) if (u32[i] !== shadow[i]) differ = i;
      expect(differ, 'first table word where the kernel and the reference differ').toBe(-1);
    }),
    { numRuns: 200 },
  );
});

test('a window of the largest size fills the table to half and still terminates', () => {
  const memory = new WebAssembly.Memory({ initial: 32 });
  const kernel = cancelKernel(memory)!;
  const u32 = new Uint32Array(memory.buffer);
  const batch: Ev[] = [];
  for (let i = 0; i < 32767; i++) batch.push({ ptr: 16 * (i + 1), free: false });
  batch.push({ ptr: 16, free: true });
  write(u32, batch);
  expect(kernel(LOG, LOG, LOG + 12 * batch.length, TABLE, 1)).toBe(1);
  expect(u32[LOG / 4 + 1]).toBe(CANCELLED);
  expect(u32[LOG / 4 + 4]).toBe(16 + 1);
});
