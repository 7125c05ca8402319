/**
 * The spill helpers (src/wasm/instrument/spill.ts): a spill site calls the helper for its
 * function's number of i32 locals with those locals as arguments, and the helper does what the
 * inline code did: SP -= slot (rounded up to 16), then argument j at SP + 4j. Run here in a module
 * of its own; and the rewritten waits.wasm calls one helper per local count, named for it.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ByteWriter } from '../../src/wasm/binary/index.js';
import { instrument } from '../../src/wasm/instrument/index.js';
import { spillHelperBody } from '../../src/wasm/instrument/spill.js';
import { WAITS } from '../live/helpers.js';

/** A module: memory (exported), a mutable i32 global SP = 4096 (exported), the helper for n. */
function helperModule(n: number): WebAssembly.Instance {
  const w = new ByteWriter(256 + 8 * n);
  const section = (id: number, fill: (s: ByteWriter) => void): void => {
    const s = new ByteWriter(64 + 8 * n);
    fill(s);
    const b = s.result();
    w.u8(id); w.u32(b.length); w.bytes(b);
  };
  w.bytes(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  section(1, (s) => { s.u32(1); s.u8(0x60); s.u32(n); for (let i = 0; i < n; i++) s.u8(0x7f); s.u32(0); });
  section(3, (s) => { s.u32(1); s.u32(0); });
  section(5, (s) => { s.u32(1); s.u8(0); s.u32(1); });
  section(6, (s) => { s.u32(1); s.u8(0x7f); s.u8(1); s.u8(0x41); s.s32(4096); s.u8(0x0b); });
  section(7, (s) => {
    s.u32(3);
    s.name('spill'); s.u8(0); s.u32(0);
    s.name('memory'); s.u8(2); s.u32(0);
    s.name('sp'); s.u8(3); s.u32(0);
  });
  const body = spillHelperBody(n, 0);
  section(10, (s) => { s.u32(1); s.u32(body.length); s.bytes(body); });
  return new WebAssembly.Instance(new WebAssembly.Module(w.result() as Uint8Array<ArrayBuffer>), {});
}

describe('spill helpers', () => {
  for (const n of [1, 3, 4, 5, 37]) {
    it(`for ${n} locals: SP moves down by the slot (16-aligned) and the arguments are stored there, in order`, () => {
      const inst = helperModule(n);
      const args = Array.from({ length: n }, (_, j) => (0x1000_0000 + j * 0x01010101) | 0);
      (inst.exports.spill as (...a: number[]) => void)(...args);
      const sp = (inst.exports.sp as WebAssembly.Global).value as number;
      expect(sp).toBe(4096 - ((n * 4 + 15) & ~15));
      const mem = new Int32Array((inst.exports.memory as WebAssembly.Memory).buffer, sp, n);
      expect(Array.from(mem)).toEqual(args);
    });
  }

  it('the rewritten waits.wasm: one helper per local count, each called at its sites, named kmemleak_spill_N', () => {
    const ins = instrument(new Uint8Array(readFileSync(WAITS)));
    expect(ins.stats.spillSites).toBeGreaterThan(0);
    const names = new TextDecoder('latin1').decode(ins.binary).match(/kmemleak_spill_\d+/g) ?? [];
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
    expect(WebAssembly.validate(ins.binary as Uint8Array<ArrayBuffer>)).toBe(true);
  });
});
