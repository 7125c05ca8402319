// Stack depot (dedup of u32 sequences into handles) and the CRC32 used by the checksum pass.
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { crc32, isAllZero } from '../../src/engine/crc32.js';
import { StackDepot } from '../../src/engine/stack-depot.js';

describe('stack depot', () => {
  test('the same sequence saved twice gets the same handle; different ones differ', () => {
    const d = new StackDepot();
    const a = d.save(new Uint32Array([1, 10, 2, 20]), 4);
    const b = d.save(new Uint32Array([1, 10, 2, 20, 99]), 4); // count limits the words
    const c = d.save(new Uint32Array([1, 10, 2, 21]), 4);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect([...d.frames(a)]).toEqual([1, 10, 2, 20]);
    expect([...d.frames(c)]).toEqual([1, 10, 2, 21]);
  });

  test('the empty trace is handle 0; unknown handles have no frames', () => {
    const d = new StackDepot();
    expect(d.save(new Uint32Array(4), 0)).toBe(0);
    expect(d.frames(0).length).toBe(0);
    expect(d.frames(12345).length).toBe(0);
  });

  test('traces longer than 16 frames (32 words) are truncated', () => {
    const d = new StackDepot();
    const long = new Uint32Array(40).map((_, i) => i);
    const h = d.save(long, 40);
    expect(d.frames(h).length).toBe(32);
    expect(d.save(long, 32)).toBe(h);
  });

  test('many distinct traces keep their handles through growth (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 8 }), { maxLength: 400, size: 'max' }), (traces) => {
        const d = new StackDepot();
        const seen = new Map<string, number>();
        for (const t of traces) {
          const h = d.save(Uint32Array.from(t), t.length);
          const key = t.join(',');
          if (seen.has(key)) expect(h).toBe(seen.get(key));
          else {
            expect([...seen.values()]).not.toContain(h);
            seen.set(key, h);
          }
        }
        for (const [key, h] of seen) expect([...d.frames(h)].join(',')).toBe(key);
      }),
      { numRuns: 50 },
    );
  });
});

describe('crc32', () => {
  test('the standard check value: crc32("123456789") = cbf43926', () => {
    const b = new TextEncoder().encode('123456789');
    expect(crc32(b, null, 0, b.length).toString(16)).toBe('cbf43926');
    expect(crc32(new Uint8Array(0), null, 0, 0)).toBe(0);
  });

  test('agrees with zlib at every offset and length, with and without the word view', () => {
    const buf = new ArrayBuffer(256);
    const u8 = new Uint8Array(buf);
    for (let i = 0; i < 256; i++) u8[i] = (i * 131 + 7) & 0xff;
    const u32 = new Uint32Array(buf);
    for (let off = 0; off < 12; off++)
      for (let len = 0; len < 200; len += 3) {
        const want = zlibCrc32(u8.subarray(off, off + len));
        expect(crc32(u8, u32, off, len)).toBe(want);
        expect(crc32(u8, null, off, len)).toBe(want);
      }
  });
});

test('isAllZero: a non-zero byte anywhere in the range, aligned or not, is found; bytes outside are ignored', () => {
  const buf = new ArrayBuffer(64);
  const u8 = new Uint8Array(buf);
  const u32 = new Int32Array(buf);
  for (let off = 0; off < 8; off++) {
    for (let len = 0; len < 40; len++) {
      expect(isAllZero(u8, u32, off, len)).toBe(true);
      for (let k = 0; k < 64; k++) {
        u8[k] = 1;
        expect(isAllZero(u8, u32, off, len)).toBe(!(k >= off && k < off + len));
        u8[k] = 0;
      }
    }
  }
});
