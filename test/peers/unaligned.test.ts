// LeakSanitizer's use_unaligned in the engine: a pointer at any byte offset, in roots and in
// objects, is a reference only when `unaligned` is on; the flood kernel then stands aside.
import { describe, expect, test } from 'vitest';
import { world } from '../engine/harness.js';

function putUnaligned(w: ReturnType<typeof world>, addr: number, v: number): void {
  for (let i = 0; i < 4; i++) w.u8[addr + i] = (v >>> (8 * i)) & 0xff;
}

describe('use_unaligned', () => {
  test('a pointer at byte offset 1 of a root: a leak when aligned-only, a reference when unaligned', () => {
    for (const unaligned of [false, true]) {
      const w = world();
      w.k.unaligned = unaligned;
      w.roots.push([0x10, 0x20]);
      w.k.alloc(0x1000, 32, 1, 0);
      putUnaligned(w, 0x11, 0x1000);
      expect(w.k.exitScan()).toBe(unaligned ? 0 : 1);
    }
  });

  test('inside an object, up to its last byte (an object whose size is not a multiple of 4)', () => {
    const w = world();
    w.k.unaligned = true;
    w.roots.push([0x10, 0x14]);
    w.put32(0x10, 0x1000);
    w.k.alloc(0x1000, 11, 1, 0);         // a 4-byte value fits at offsets 0..7
    w.k.alloc(0x2000, 16, 1, 0);
    putUnaligned(w, 0x1007, 0x2000);     // bytes 7..10: the last four bytes of the object
    w.k.alloc(0x3000, 16, 1, 0);
    putUnaligned(w, 0x2003, 0x3008);     // an interior pointer at an odd offset
    expect(w.k.exitScan()).toBe(0);
  });

  test('a value straddling the end of an object is not read', () => {
    const w = world();
    w.k.unaligned = true;
    w.roots.push([0x10, 0x14]);
    w.put32(0x10, 0x1000);
    w.k.alloc(0x1000, 10, 1, 0);
    w.k.alloc(0x2000, 16, 1, 0);
    putUnaligned(w, 0x1008, 0x2000);     // bytes 8..11: two of them past the object's end
    expect(w.k.exitScan()).toBe(1);
  });

  test('with the kernel asked for, an unaligned scan still floods in JavaScript and finds the pointer', () => {
    for (const unaligned of [false, true]) {
      const w = world({ scanKernel: 'on' }, 1 << 16, { mayGrow: true });
      w.k.unaligned = unaligned;
      w.roots.push([0x10, 0x20]);
      w.k.alloc(0x1000, 32, 1, 0);
      putUnaligned(w, 0x13, 0x1000);
      expect(w.k.exitScan()).toBe(unaligned ? 0 : 1);
      expect(w.k.stats().kernelScans).toBe(unaligned ? 0 : 1);
    }
  });
});
