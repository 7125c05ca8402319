import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ContextCache } from '../../src/wasm/runtime/context-cache.js';

describe('ContextCache', () => {
  it('agrees with a Map on random keys, through growth', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 0xfffffffe })), { maxLength: 400 }),
      (ops) => {
        const c = new ContextCache(16);
        const ref = new Map<string, number>();
        for (const [lo, hi, h] of ops) {
          c.set(lo, hi, h);
          ref.set(`${lo}:${hi}`, h);
        }
        for (const [k, v] of ref) {
          const [lo, hi] = k.split(':').map(Number) as [number, number];
          if (c.get(lo, hi) !== v) return false;
        }
        return c.size === ref.size && c.get(0x12345678, 99) === -1;
      },
    ));
  });

  it('keeps (0,0) and negative i32 keys distinct from unsigned ones only by value', () => {
    const c = new ContextCache();
    c.set(0, 0, 7);
    c.set(-1, 0, 8);                  // same as 0xffffffff
    expect(c.get(0, 0)).toBe(7);
    expect(c.get(0xffffffff, 0)).toBe(8);
    expect(c.get(0, 1)).toBe(-1);
    expect(c.size).toBe(2);
  });
});
