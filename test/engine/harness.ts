// A small world for engine tests: one linear memory, a fake clock, a fake scheduler, root ranges,
// and a log that collects lines.
import { Kmemleak, type EngineOptions, type Scheduler } from '../../src/engine/index.js';

export class FakeScheduler implements Scheduler {
  now = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.now + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  yield(): Promise<void> {
    return Promise.resolve();
  }
  get pending(): number[] {
    return this.timers.map((t) => t.at).sort((a, b) => a - b);
  }
  /** Advances time, firing due timers in order. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const t = this.timers[0];
      if (!t || t.at > end) break;
      this.timers.shift();
      this.now = t.at;
      t.fn();
      for (let i = 0; i < 20; i++) await Promise.resolve();
    }
    this.now = end;
  }
}

export interface World {
  k: Kmemleak;
  mem: ArrayBuffer;
  u8: Uint8Array;
  logs: string[];
  roots: [number, number][];
  time: { ms: number };
  put32(addr: number, v: number): void;
  fill(addr: number, len: number, byte: number): void;
  /** Addresses of reported, still unreferenced objects, in report order. */
  reported(): number[];
}

/**
 * A detector over `memBytes` of memory. With `wasm`, the memory is a WebAssembly.Memory (rounded
 * up to whole pages, with `maximumPages` if given) handed to the engine for the flood kernel.
 */
export function world(
  opts: EngineOptions = {},
  memBytes = 1 << 16,
  wasm?: { mayGrow: boolean; maximumPages?: number; maxBytes?: number },
): World {
  const pages = Math.ceil(memBytes / 65536);
  const memory = wasm
    ? new WebAssembly.Memory(wasm.maximumPages !== undefined ? { initial: pages, maximum: wasm.maximumPages } : { initial: pages })
    : null;
  let mem: ArrayBuffer = memory ? memory.buffer : new ArrayBuffer(memBytes);
  const logs: string[] = [];
  const time = { ms: 1000 };
  const k = new Kmemleak({
    log: (l) => logs.push(l),
    now: () => time.ms,
    clockEvery: 1,
    scanPeriodSecs: 0,
    minAgeMs: 0,
    ...opts,
  });
  const roots: [number, number][] = [];
  const w: World = {
    k,
    get mem() {
      return memory ? memory.buffer : mem;
    },
    set mem(m: ArrayBuffer) {
      mem = m;
    },
    get u8() {
      return new Uint8Array(this.mem);
    },
    logs,
    roots,
    time,
    put32(addr, v) {
      new DataView(this.mem).setUint32(addr, v >>> 0, true);
    },
    fill(addr, len, byte) {
      new Uint8Array(this.mem, addr, len).fill(byte);
    },
    reported() {
      return k.leaks().map((r) => r.address);
    },
  };
  if (memory) {
    const max = wasm!.maxBytes;
    k.attachMemory(() => memory.buffer, { memory, mayGrow: wasm!.mayGrow, ...(max !== undefined ? { maxBytes: max } : {}) });
  }
  else k.attachMemory(() => mem);
  k.setRootProvider((add) => {
    for (const [a, b] of roots) add(a, b);
  });
  return w;
}

/** A heap of `n` objects of 64 bytes from `base` in a chain from the root (word 0), so a scan has many objects to visit. */
export function chain(w: World, n: number, base = 0x1000): void {
  w.roots.push([0, 4]);
  w.put32(0, base);
  for (let i = 0; i < n; i++) {
    const a = base + i * 64;
    w.k.alloc(a, 64, 1, 0);
    if (i + 1 < n) w.put32(a, a + 64);
  }
}
