import { describe, expect, it } from 'vitest';
import { rootProvider, subtractRanges } from '../../src/wasm/runtime/roots.js';

describe('subtractRanges', () => {
  it('cuts excluded ranges out, in any order, overlapping or outside', () => {
    expect(subtractRanges([100, 200], [[150, 160], [90, 110], [190, 300], [120, 120], [500, 600]]))
      .toEqual([[110, 150], [160, 190]]);
    expect(subtractRanges([0, 10], [[0, 10]])).toEqual([]);
    expect(subtractRanges([10, 10], [])).toEqual([]);
  });
});

describe('rootProvider', () => {
  const collect = (p: (add: (s: number, e: number) => void) => void) => {
    const out: Array<[number, number]> = [];
    p((s, e) => out.push([s, e]));
    return out;
  };

  it('adds static pieces and the live stack, clipped to memory', () => {
    let sp = 1000;
    let on = true;
    const p = rootProvider([[2000, 2100], [2200, 9000]], { enabled: () => on, pointer: () => sp, top: 1500 }, () => 4096);
    expect(collect(p)).toEqual([[2000, 2100], [2200, 4096], [1000, 1500]]);
    sp = 1002;                  // an unaligned pointer starts at its word
    expect(collect(p).at(-1)).toEqual([1000, 1500]);
    on = false;
    expect(collect(p)).toEqual([[2000, 2100], [2200, 4096]]);
    on = true; sp = 1500;       // nothing live
    expect(collect(p)).toEqual([[2000, 2100], [2200, 4096]]);
    sp = -1;                    // unknown pointer: no stack
    expect(collect(p)).toHaveLength(2);
  });

  it('a stack above 2^31 (a program whose data or heap is placed first) is added unsigned', () => {
    const p = rootProvider([], { enabled: () => true, pointer: () => 0x90000002, top: 0x90001000 }, () => 2 ** 32);
    expect(collect(p)).toEqual([[0x90000000, 0x90001000]]);
  });
});
