// Property: on random heaps (objects, pointers between them and from roots, interior pointers,
// min_counts -1/0/1/2, scan areas, no_scan, not_leak, ignore, objects born and freed between
// scans, contents that change), every scan's new-leak count and the listed leaks equal what an
// obviously correct reference model computes.
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { world } from './harness.js';

const MEM = 0x4000;
const ROOTS_END = 0x100;
const ROUNDS = 3;

interface ObjSpec {
  gap: number;
  size: number;
  min: number;
  noScan: boolean;
  notLeak: boolean;
  ignore: boolean;
  areas: { off: number; len: number }[];
  born: number; // round before whose scan it is allocated
  dies: number; // round before whose scan it is freed (ROUNDS + 1: never)
  far: number; // 0: laid out in memory; else placed far away, beyond memory (maybe >= 2^31)
}

interface Write {
  round: number;
  where: number; // selects a root word or an object word
  inObject: boolean;
  target: number; // selects an object
  interior: number; // offset added to the target's start (may reach one past its end)
  junk: number; // used when kind is junk
  kind: number; // 0..5 pointer, 6 junk value, 7 unaligned pointer
}

const objArb: fc.Arbitrary<ObjSpec> = fc
  .record({
    gap: fc.integer({ min: 0, max: 24 }),
    size: fc.integer({ min: 0, max: 40 }),
    min: fc.constantFrom(-1, 0, 1, 1, 1, 1, 2),
    flagPick: fc.integer({ min: 0, max: 9 }),
    areas: fc.array(fc.record({ off: fc.nat(40), len: fc.nat(40) }), { maxLength: 2 }),
    withAreas: fc.integer({ min: 0, max: 4 }),
    born: fc.integer({ min: 1, max: ROUNDS }),
    life: fc.integer({ min: 1, max: ROUNDS + 1 }),
    far: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(0x10000, 0x7fff0000, 0xf0000000) }),
  })
  .map((r) => ({
    gap: r.gap,
    size: r.size,
    min: r.min,
    noScan: r.flagPick === 0,
    notLeak: r.flagPick === 1,
    ignore: r.flagPick === 2,
    // Areas inside the object (the engine refuses, with a warning, those that do not fit).
    areas:
      r.withAreas <= 1 && r.size > 0
        ? r.areas.map((a) => {
            const off = a.off % r.size;
            return { off, len: a.len % (r.size - off + 1) };
          })
        : [],
    born: r.born,
    dies: Math.min(ROUNDS + 1, r.born + r.life),
    far: r.far,
  }));

const writeArb: fc.Arbitrary<Write> = fc.record({
  round: fc.integer({ min: 1, max: ROUNDS }),
  where: fc.nat(1000),
  inObject: fc.boolean(),
  target: fc.nat(1000),
  interior: fc.nat(48),
  junk: fc.nat(0xffffffff),
  kind: fc.integer({ min: 0, max: 7 }),
});

/** The reference model: kmemleak's marking written as plainly as possible. */
class Model {
  count: number[] = [];
  reported: boolean[] = [];
  prevCrc: (number | undefined)[] = [];

  constructor(
    private readonly objs: (ObjSpec & { start: number })[],
    private readonly mem: Uint8Array,
  ) {}

  private min(i: number): number {
    const o = this.objs[i]!;
    return o.ignore ? -1 : o.notLeak ? 0 : o.min;
  }
  private white(i: number): boolean {
    return this.count[i]! < this.min(i);
  }
  private word(a: number): number {
    return new DataView(this.mem.buffer).getUint32(a, true);
  }
  private owner(v: number, live: boolean[]): number {
    for (let j = 0; j < this.objs.length; j++) {
      const o = this.objs[j]!;
      if (live[j] && v >= o.start && v < o.start + Math.max(o.size, 1)) return j;
    }
    return -1;
  }

  /** One scan; returns the number of newly reported objects. */
  scan(live: boolean[], roots: [number, number][], greyChanged: boolean): number {
    const n = this.objs.length;
    const queue: number[] = [];
    for (let i = 0; i < n; i++) {
      this.count[i] = 0;
      if (live[i] && this.min(i) === 0) queue.push(i);
    }
    const scanRange = (a: number, b: number, self: number) => {
      // Memory ends where it ends: what lies beyond is not read.
      for (let w = Math.ceil(a / 4) * 4; w + 4 <= Math.min(b, this.mem.length); w += 4) {
        const j = this.owner(this.word(w), live);
        if (j < 0 || j === self || !this.white(j)) continue;
        this.count[j]!++;
        if (!this.white(j)) queue.push(j);
      }
    };
    const drain = () => {
      while (queue.length) {
        const i = queue.shift()!;
        const o = this.objs[i]!;
        if (o.noScan || o.ignore) continue;
        if (o.areas.length) for (const a of o.areas) scanRange(o.start + a.off, o.start + a.off + a.len, i);
        else scanRange(o.start, o.start + o.size, i);
      }
    };
    for (const [a, b] of roots) scanRange(a, b, -1);
    drain();
    for (let i = 0; i < n; i++) {
      if (!live[i] || !this.white(i)) continue;
      const o = this.objs[i]!;
      const bytes = this.mem.subarray(o.start, o.start + o.size);
      const crc = crc32(bytes);
      const prev = this.prevCrc[i];
      const changed = prev === undefined ? bytes.some((b) => b !== 0) : crc !== prev;
      this.prevCrc[i] = crc;
      if (changed && greyChanged) {
        this.count[i] = this.min(i);
        queue.push(i);
      }
    }
    drain();
    let fresh = 0;
    for (let i = 0; i < n; i++) {
      if (live[i] && this.white(i) && !this.reported[i]) {
        this.reported[i] = true;
        fresh++;
      }
    }
    return fresh;
  }

  listed(live: boolean[]): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.objs.length; i++) if (live[i] && this.reported[i] && this.white(i)) out.push(i);
    return out;
  }
}

// The same property for both floods: JavaScript over an ArrayBuffer, and the WebAssembly kernel
// over a WebAssembly.Memory (4 pages, not growable: its scratch must come from a gap, and the
// scan must leave every byte of memory as it found it).
// Each also with a grey queue of one entry: every scan overflows it, the rest waiting in the
// pending bitmap.
const VARIANTS = [
  { name: 'JavaScript flood', wasm: false, queueMin: undefined },
  { name: 'WebAssembly flood kernel', wasm: true, queueMin: undefined },
  { name: 'JavaScript flood, a grey queue of one entry', wasm: false, queueMin: 1 },
  { name: 'WebAssembly flood kernel, a grey queue of one entry', wasm: true, queueMin: 1 },
] as const;

for (const variant of VARIANTS) test(`random heaps: every scan agrees with the reference model (${variant.name})`, () => {
  let kernelScans = 0;
  let scans = 0;
  fc.assert(
    fc.property(
      fc.array(objArb, { maxLength: 24, size: 'max' }),
      fc.array(writeArb, { maxLength: 60, size: 'max' }),
      fc.array(fc.tuple(fc.nat(ROOTS_END), fc.nat(ROOTS_END)), { minLength: 1, maxLength: 2 }),
      (specs, writes, rootPairs) => {
        // Lay the objects out one after another above the roots.
        let at = ROOTS_END;
        const farAt = new Map<number, number>();
        const objs = specs.map((s) => {
          if (s.far) {
            const start = farAt.get(s.far) ?? s.far;
            farAt.set(s.far, start + 64);
            return { ...s, start };
          }
          at += s.gap;
          const o = { ...s, start: at };
          at += Math.max(s.size, 1);
          return o;
        });
        const q = { scanQueueMin: variant.queueMin };
        const w = variant.wasm ? world({ scanKernel: 'on', ...q }, 4 * 65536, { mayGrow: false }) : world(q, MEM);
        const scanChecked = (f: () => number): number => {
          const before = w.u8.slice();
          const n = f();
          if (variant.wasm) expect(Buffer.compare(w.u8, before)).toBe(0);
          scans++;
          return n;
        };
        const roots = rootPairs.map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as [number, number]);
        w.roots.push(...roots);
        const model = new Model(objs, w.u8);
        const live = objs.map(() => false);
        const order: number[] = []; // allocation order of object indices

        for (let round = 1; round <= ROUNDS; round++) {
          objs.forEach((o, i) => {
            if (o.dies === round && live[i]) {
              w.k.free(o.start);
              live[i] = false;
              model.reported[i] = false;
              model.prevCrc[i] = undefined;
            }
          });
          objs.forEach((o, i) => {
            if (o.born !== round || o.dies <= round) return;
            w.k.alloc(o.start, o.size, o.min, 0);
            if (o.notLeak) w.k.notLeak(o.start);
            if (o.ignore) w.k.ignore(o.start);
            if (o.noScan) w.k.noScan(o.start);
            for (const a of o.areas) w.k.scanArea(o.start, a.off, a.len);
            live[i] = true;
            order.push(i);
          });
          for (const wr of writes) {
            if (wr.round !== round) continue;
            let addr: number;
            if (wr.inObject && objs.length) {
              const o = objs[wr.where % objs.length]!;
              if (o.size < 4 || o.far) continue;
              addr = o.start + ((wr.where >> 3) % (o.size - 3));
            } else addr = (wr.where * 4) % (ROOTS_END - 4);
            let value = wr.junk;
            if (wr.kind <= 5 && objs.length) {
              const t = objs[wr.target % objs.length]!;
              value = (t.start + (wr.interior % (t.size + 2))) >>> 0;
            }
            if (wr.kind === 7) addr += 1;
            if (wr.kind !== 7) addr &= ~3;
            if (addr + 4 > MEM) continue;
            w.put32(addr, value);
          }
          const want = model.scan(live, roots, true);
          expect(scanChecked(() => w.k.scan())).toBe(want);
          const listed = model.listed(live).map((i) => objs[i]!.start);
          expect(w.reported()).toEqual(order.filter((i) => listed.includes(objs[i]!.start)).map((i) => objs[i]!.start));
        }
        const want = model.scan(live, roots, false);
        expect(scanChecked(() => w.k.exitScan())).toBe(want);
        const listed = model.listed(live).map((i) => objs[i]!.start);
        expect(w.reported()).toEqual(order.filter((i) => listed.includes(objs[i]!.start)).map((i) => objs[i]!.start));
        expect(w.logs.filter((l) => !l.includes('new suspected memory leaks'))).toEqual([]);
        kernelScans += w.k.stats().kernelScans;
      },
    ),
    { numRuns: 300 },
  );
  // The kernel variant must have run the kernel (every scan with anything to flood has room).
  if (variant.wasm) expect(kernelScans).toBeGreaterThan(scans / 2);
  else expect(kernelScans).toBe(0);
});
