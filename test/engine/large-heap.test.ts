// Scans of heaps large enough to take the scanner's batch paths, which the property test's small
// heaps never reach: candidate batches bucketed by address (>= 256 candidates), grey-queue
// generations radix sorted (>= 4096 entries), and a white bitmap whose granules (32 bytes here)
// are shared by unaligned neighbouring objects. Each scan is checked against a plain reachability
// fixpoint computed in the test.
import { expect, test } from 'vitest';
import { world } from './harness.js';
import { referenceWhite, rng, type Obj } from './reference.js';

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
