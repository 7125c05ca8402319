// Scans of heaps large enough to take the scanner's batch paths, which the property test's small
// heaps never reach: candidate batches bucketed by address (>= 256 candidates), grey-queue
// generations radix sorted (>= 4096 entries), and a white bitmap whose granules (32 bytes here)
// are shared by unaligned neighbouring objects. Each scan is checked against a plain reachability
// fixpoint computed in the test.
import { expect, test } from 'vitest';
import { world } from './harness.js';

interface Obj {
  start: number;
  size: number;
  min: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** Objects left white by kmemleak's counting rule, by plain iteration to a fixpoint. */
function referenceWhite(objs: Obj[], mem: DataView, roots: [number, number][]): Set<number> {
  const count = objs.map(() => 0);
  const grey = objs.map((o) => o.min <= 0);
  const find = (v: number): number => {
    let lo = 0;
    let hi = objs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const o = objs[mid];
      if (v < o.start) hi = mid - 1;
      else if (v >= o.start + Math.max(o.size, 1)) lo = mid + 1;
      else return mid;
    }
    return -1;
  };
  const work: [number, number][] = [...roots];
  objs.forEach((o, i) => {
    if (grey[i]) work.push([o.start, o.start + o.size]);
  });
  while (work.length > 0) {
    const [a, b] = work.pop()!;
    for (let w = Math.ceil(a / 4) * 4; w + 4 <= b; w += 4) {
      const i = find(mem.getUint32(w, true));
      if (i < 0 || grey[i]) continue;
      if (++count[i] >= objs[i].min) {
        grey[i] = true;
        work.push([objs[i].start, objs[i].start + objs[i].size]);
      }
    }
  }
  return new Set(objs.filter((_, i) => !grey[i]).map((o) => o.start));
}

for (const [seed, kernel] of [[1, false], [7, false], [42, false], [1, true], [7, true], [42, true]] as const) {
  const how = kernel ? 'WebAssembly flood kernel' : 'JavaScript flood';
  test(`a 30000-object heap with unaligned objects and 15% pointer words: scan equals reachability (seed ${seed}, ${how})`, () => {
    const r = rng(seed);
    // The kernel's heap is a WebAssembly.Memory that may grow: the objects leave no gap for it.
    const w = kernel ? world({ scanKernel: 'on' }, 1 << 22, { mayGrow: true }) : world({}, 1 << 22);
    const objs: Obj[] = [];
    let at = 0x1000;
    for (let i = 0; i < 30000; i++) {
      at += Math.floor(r() * 12);
      const size = 4 + Math.floor(r() * 120);
      const pick = r();
      objs.push({ start: at, size, min: pick < 0.05 ? 0 : pick < 0.15 ? 2 : 1 });
      at += size;
    }
    expect(at).toBeLessThan(1 << 22);
    const view = new DataView(w.mem);
    // An ignored block over the rest of memory: no gap is left for the kernel's scratch.
    if (kernel) {
      w.k.alloc(at, (1 << 22) - at, 1, 0);
      w.k.ignore(at);
    }
    const pointer = (): number => {
      const t = objs[Math.floor(r() * objs.length)];
      return t.start + Math.floor(r() * (t.size + 1)); // interior, or one past the end
    };
    for (const o of objs) {
      for (let a = Math.ceil(o.start / 4) * 4; a + 4 <= o.start + o.size; a += 4) {
        const p = r();
        view.setUint32(a, p < 0.15 ? pointer() : p < 0.5 ? 0 : (p * 2 ** 32) >>> 0, true);
      }
    }
    for (let a = 0; a < 0x200; a += 4) view.setUint32(a, pointer(), true);
    w.roots.push([0, 0x200]);
    for (const o of objs) w.k.alloc(o.start, o.size, o.min, 0);
    const expected = referenceWhite(objs, view, w.roots);
    const bytesBefore = w.mem.byteLength;
    // First scan: every non-zero block is new to the checksum pass, so it turns grey then.
    w.k.scan();
    // Second scan: contents unchanged, so the result is plain reachability.
    w.k.scan();
    const white = new Set(w.reported());
    expect(expected.size).toBeGreaterThan(100);
    expect(expected.size).toBeLessThan(objs.length - 100);
    expect([...white].sort((a, b) => a - b)).toEqual([...expected].sort((a, b) => a - b));
    expect(w.k.stats().kernelScans).toBe(kernel ? 2 : 0);
    if (kernel) {
      // No gap was big enough: the memory grew once (the second scan reused the grown pages),
      // and the grown pages are zero again.
      expect(w.mem.byteLength).toBeGreaterThan(bytesBefore);
      expect(new Uint8Array(w.mem, bytesBefore).every((b) => b === 0)).toBe(true);
    }
  });
}
