// The reported objects' own pointer graph (src/engine/leak-graph.ts): kinds with Valgrind's cycle
// rule, owners and retained bytes, checked by hand on small shapes and against a brute-force
// model on random heaps (fast-check).
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { KIND_DIRECT, type LeakGraph } from '../../src/engine/index.js';
import { world, type World } from './harness.js';

const BASE = 0x1000;
const SLOT = 64;
const addr = (i: number): number => BASE + i * SLOT;

/** Objects 0..n-1 of `size` bytes at addr(i), allocated in index order (unless `order`). */
function heap(n: number, size = 32, order?: number[]): World {
  const w = world({}, 1 << 16);
  for (const i of order ?? [...Array(n).keys()]) w.k.alloc(addr(i), size, 1, 0);
  return w;
}

function graphOf(w: World): LeakGraph {
  w.k.exitScan();
  return w.k.leakGraph();
}

/** Kind per object address: 'D' or 'I', in address order of the objects given. */
function kinds(g: LeakGraph, objs: number[]): string {
  return objs.map((i) => {
    const k = [...g.start].indexOf(addr(i));
    return k < 0 ? '-' : g.kind[k] === KIND_DIRECT ? 'D' : 'I';
  }).join('');
}

function retainedOf(g: LeakGraph, i: number): number {
  return g.retained[[...g.start].indexOf(addr(i))]!;
}

describe('leak graph: kinds and retained bytes', () => {
  test('a lost tree: the root is direct and retains everything', () => {
    const w = heap(7);
    for (let i = 0; i < 3; i++) {
      w.put32(addr(i), addr(2 * i + 1));
      w.put32(addr(i) + 4, addr(2 * i + 2));
    }
    const g = graphOf(w);
    expect(g.n).toBe(7);
    expect(kinds(g, [0, 1, 2, 3, 4, 5, 6])).toBe('DIIIIII');
    expect(retainedOf(g, 0)).toBe(7 * 32);
    expect([g.direct, g.indirect]).toEqual([1, 6]);
  });

  test('a cycle: the first allocated is direct (allocation order, not address order)', () => {
    const w = heap(2, 32, [1, 0]);
    w.put32(addr(0), addr(1));
    w.put32(addr(1), addr(0));
    const g = graphOf(w);
    expect(kinds(g, [0, 1])).toBe('ID');
    expect(retainedOf(g, 1)).toBe(64);
    expect(g.start[0]).toBe(addr(1));   // graph order is allocation order
  });

  test('a cycle entered from outside is all indirect; a cycle that points at an earlier object owns it', () => {
    const w = heap(6);
    // 0 <-> 1, entered from 2 (allocated later): 2 direct.
    w.put32(addr(0), addr(1));
    w.put32(addr(1), addr(0));
    w.put32(addr(2), addr(0));
    // 4 <-> 5 -> 3 (3 allocated first, pointed to only by the cycle): 4 direct, 3 indirect.
    w.put32(addr(4), addr(5));
    w.put32(addr(5), addr(4));
    w.put32(addr(5) + 4, addr(3));
    const g = graphOf(w);
    expect(kinds(g, [0, 1, 2, 3, 4, 5])).toBe('IIDIDI');
    expect(retainedOf(g, 2)).toBe(96);
    expect(retainedOf(g, 4)).toBe(96);
  });

  test('an object two direct objects reach counts once, under the first allocated', () => {
    const w = heap(3);
    w.put32(addr(0), addr(2));
    w.put32(addr(1), addr(2));
    const g = graphOf(w);
    expect(kinds(g, [0, 1, 2])).toBe('DDI');
    expect([retainedOf(g, 0), retainedOf(g, 1)]).toEqual([64, 32]);
  });

  test('scan rules: self references and no_scan objects give no edge; interior pointers do', () => {
    const w = heap(4);
    w.put32(addr(0), addr(0));          // self: 0 stays direct
    w.put32(addr(1), addr(2) + 20);     // interior: 2 is indirect
    w.put32(addr(3), addr(0));          // from a no_scan object: ignored
    w.k.noScan(addr(3));
    const g = graphOf(w);
    expect(kinds(g, [0, 1, 2, 3])).toBe('DDID');
    expect(g.to.length).toBe(1);
  });

  test('reachable objects are not in the graph; nor are pointers to them', () => {
    const w = heap(3);
    w.roots.push([0, 4]);
    w.put32(0, addr(0));
    w.put32(addr(1), addr(0));
    w.put32(addr(1) + 4, addr(2));
    const g = graphOf(w);
    expect(kinds(g, [0, 1, 2])).toBe('-DI');
  });
});

/** Brute force: reachability by BFS from every object; kinds and owners from the definitions. */
function model(n: number, edges: Set<number>[], size: number[]): { kind: number[]; retained: number[] } {
  const reach = edges.map((_, s) => {
    const seen = new Set<number>([s]);
    const q = [s];
    while (q.length) for (const v of edges[q.shift()!]!) if (!seen.has(v)) { seen.add(v); q.push(v); }
    return seen;
  });
  const kind: number[] = [];
  for (let i = 0; i < n; i++) {
    // i is in a source component when everything reaching i is reached back from i.
    const source = [...Array(n).keys()].every((j) => !reach[j]!.has(i) || reach[i]!.has(j));
    const firstOfComponent = [...Array(n).keys()].every((j) => j >= i || !(reach[i]!.has(j) && reach[j]!.has(i)));
    kind.push(source && firstOfComponent ? 0 : 1);
  }
  const retained = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    const owner = [...Array(n).keys()].find((d) => kind[d] === 0 && reach[d]!.has(i))!;
    retained[owner] += size[i]!;
  }
  return { kind, retained };
}

describe('leak graph: property against the brute-force model', () => {
  test('kinds, retained bytes; direct + indirect = n; retained sums to the bytes', () => {
    const arb = fc.integer({ min: 1, max: 12 }).chain((n) => fc.record({
      n: fc.constant(n),
      sizes: fc.array(fc.integer({ min: 4, max: SLOT }), { minLength: n, maxLength: n }),
      order: fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
      ptrs: fc.array(fc.record({ from: fc.nat(n - 1), word: fc.nat(15), to: fc.nat(n - 1), interior: fc.nat(SLOT - 1) }), { maxLength: 3 * n }),
      rooted: fc.array(fc.nat(n - 1), { maxLength: 2 }),
    }));
    fc.assert(fc.property(arb, ({ n, sizes, order, ptrs, rooted }) => {
      const w = world({}, 1 << 16);
      for (const i of order) w.k.alloc(addr(i), sizes[i]!, 1, 0);
      const edges = sizes.map(() => new Set<number>());
      for (const p of ptrs) {
        if ((p.word + 1) * 4 > sizes[p.from]!) continue;                 // the word must be inside the object
        w.put32(addr(p.from) + 4 * p.word, addr(p.to) + (p.interior % sizes[p.to]!));
        if (p.from !== p.to) edges[p.from]!.add(p.to);
      }
      // Overwritten words: rebuild the edges from memory as the scan sees it.
      for (let i = 0; i < n; i++) {
        edges[i]!.clear();
        for (let k = 0; 4 * k + 4 <= sizes[i]!; k++) {
          const v = new DataView(w.mem).getUint32(addr(i) + 4 * k, true);
          const j = Math.floor((v - BASE) / SLOT);
          if (v >= BASE && j < n && j !== i && v - addr(j) < sizes[j]!) edges[i]!.add(j);
        }
      }
      w.roots.push([0, 8]);
      rooted.forEach((r, k) => w.put32(4 * k, addr(r)));
      const g = graphOf(w);
      // The leaked set: not reachable from the rooted objects.
      const live = new Set<number>();
      const q = [...rooted];
      while (q.length) { const v = q.shift()!; if (!live.has(v)) { live.add(v); q.push(...edges[v]!); } }
      const leaked = order.filter((i) => !live.has(i));             // allocation order
      expect([...g.start]).toEqual(leaked.map(addr));
      const idx = new Map(leaked.map((i, k) => [i, k]));
      const sub = leaked.map((i) => new Set([...edges[i]!].filter((j) => idx.has(j)).map((j) => idx.get(j)!)));
      const m = model(leaked.length, sub, leaked.map((i) => sizes[i]!));
      expect([...g.kind]).toEqual(m.kind);
      expect([...g.retained]).toEqual(m.retained);
      expect(g.direct + g.indirect).toBe(g.n);
      expect([...g.retained].reduce((a, b) => a + b, 0)).toBe(leaked.reduce((a, i) => a + sizes[i]!, 0));
    }), { numRuns: 300 });
  });
});

describe('leak graph: many objects (the page-table index over the reported objects)', () => {
  test('4200 objects at shuffled addresses with random pointers and lost cycles: the same as the model', () => {
    const n = 4200;
    const w = world({}, 1 << 20);
    let seed = 12345;
    const rnd = (m: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % m;
    };
    // Object i (allocation order) lives at addr(perm[i]): address order is not allocation order.
    const perm = [...Array(n).keys()];
    for (let i = n - 1; i > 0; i--) {
      const j = rnd(i + 1);
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    const at = (i: number): number => addr(perm[i]!);
    const order = [...Array(n).keys()];   // allocation order = index order
    for (const i of order) w.k.alloc(at(i), 32, 1, 0);
    const edges = order.map(() => new Set<number>());
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < rnd(3); k++) {
        const j = rnd(n);
        w.put32(at(i) + 4 * k, at(j) + rnd(32));
        if (j !== i) edges[i]!.add(j);
      }
    }
    const g = graphOf(w);
    expect(g.n).toBe(n);
    const m = model(n, edges, order.map(() => 32));
    expect([...g.kind]).toEqual(m.kind);
    expect([...g.retained]).toEqual(m.retained);
  });
});
