/**
 * Why: Valgrind's client requests (valgrind.h, memcheck.h) compile to nothing on wasm; our
 * include/valgrind/ headers turn the ones that matter to a leak checker into imports from the
 * `valgrind` module, implemented here with Memcheck's meaning:
 *
 * - MALLOCLIKE_BLOCK / FREELIKE_BLOCK / RESIZEINPLACE_BLOCK: a block of a custom allocator, like
 *   malloc's (the caller's backtrace), freed, resized in place (its backtrace kept).
 * - Mempools: CREATE_MEMPOOL(_EXT) names a pool by an anchor address; MEMPOOL_ALLOC/FREE track
 *   its chunks; MEMPOOL_TRIM drops chunks outside a range and trims those across its ends;
 *   MOVE_MEMPOOL renames the anchor; MEMPOOL_CHANGE moves or resizes a chunk; DESTROY_MEMPOOL
 *   drops every chunk; MEMPOOL_EXISTS answers. As Memcheck does (mc_leakcheck.c: "every mempool
 *   chunk, and every malloc region that doesn't contain a mempool chunk"), a heap block that holds
 *   live chunks (the pool's superblock) is not a block while it does: it is set aside here, and
 *   comes back, with its own backtrace, when its last chunk goes. The same holds for MALLOCLIKE
 *   blocks inside a heap block (Memcheck then ignores the malloc() block). In a metapool
 *   (VALGRIND_MEMPOOL_METAPOOL) the pool's chunks are the blocks and the MALLOCLIKE blocks inside
 *   them are not blocks of their own (Memcheck 3.19 reports the chunk only); with
 *   VALGRIND_MEMPOOL_AUTO_FREE, MEMPOOL_FREE of a chunk ends the MALLOCLIKE blocks inside it.
 * - DO_LEAK_CHECK (every leak now), DO_ADDED/NEW/CHANGED_LEAK_CHECK (the blocks leaked since the
 *   previous check), DO_QUICK_LEAK_CHECK (the summary line only); COUNT_LEAKS and
 *   COUNT_LEAK_BLOCKS give the last check's figures (bytes, blocks): leaked, dubious (always 0:
 *   kmemleak counts an interior pointer as a reference), reachable, suppressed.
 * - RUNNING_ON_VALGRIND is 1 under kmemleak (the requests are honoured), 0 with the detector off.
 *
 * Invariants: no request throws into wasm; a request naming an unknown pool or chunk is one
 * warning line (Valgrind reports it as an error); the engine never holds two overlapping objects
 * because of a pool (superblocks are out of it while they hold chunks). Set-aside superblocks are
 * found by a linear walk (pools have few superblocks); the engine's interior lookup runs only for
 * a chunk outside static data and outside every set-aside superblock (its first chunk).
 */
import type { EnginePort } from '../wasm/runtime/engine-port.js';

export const VALGRIND_MODULE = 'valgrind';

/** What the requests need from the run. */
export interface RequestHost {
  engine: EnginePort & {
    objectAt(addr: number): { start: number; size: number; trace: number } | null;
    liveTotals(): { blocks: number; bytes: number };
  };
  /** The caller's backtrace (depot handle). */
  traceHere(): number;
  /** Brackets engine calls made for wasm (flushes the event log; warnings get a backtrace). */
  enter(): void;
  /** Replays logged events (before a check, which is no warning's caller). */
  flush(): void;
  leave(): void;
  /** Whether addr is in the program's static data (no heap block there). */
  inStatic(addr: number): boolean;
  /** A scan with minimum age 0. */
  scan(): void;
  /** Every block leaked now, in report order: address, size and report text. */
  leaks(): Array<{ address: number; size: number; text: string }>;
  /** Prints text (kmemleak's own output). */
  print(text: string): void;
}

const AUTO_FREE = 1;
const METAPOOL = 2;

interface Chunk { size: number; trace: number; superblock: Superblock | null; inMetapool?: boolean }
interface Pool { flags: number; chunks: Map<number, Chunk> }
interface Superblock { start: number; size: number; trace: number; chunks: number }

const hex = (n: number): string => '0x' + (n >>> 0).toString(16).padStart(8, '0');

export class ValgrindRequests {
  private readonly pools = new Map<number, Pool>();
  /** MALLOCLIKE blocks (they too may sit in a heap block, which is then set aside). */
  private readonly likeBlocks = new Map<number, Chunk>();
  private readonly aside: Superblock[] = [];
  private counts = new Uint32Array(8);   // bytes[4], blocks[4]
  private lastLeaked = new Set<number>();

  constructor(private readonly host: RequestHost) {}

  private warn(text: string): void { this.host.print(`kmemleak: ${text}\n`); }

  /**
   * The engine port for the allocator hooks: a free() of a set-aside superblock is the pool's
   * business, not an unknown pointer.
   */
  wrapPort(port: EnginePort): EnginePort {
    return new PoolAwarePort(port, (ptr) => this.freedAside(ptr));
  }

  /** The set-aside superblock starting at ptr, or -1. */
  private asideAt(ptr: number): number {
    let i = this.aside.length - 1;
    while (i >= 0 && this.aside[i]!.start !== ptr) i--;
    return i;
  }

  /** A set-aside superblock freed (the program's free(), FREELIKE_BLOCK): forget it; the blocks inside stay. */
  private freedAside(ptr: number): boolean {
    const i = this.asideAt(ptr);
    if (i < 0) return false;
    const sb = this.aside[i]!;
    this.aside.splice(i, 1);
    for (const pool of this.pools.values()) for (const c of pool.chunks.values()) if (c.superblock === sb) c.superblock = null;
    for (const c of this.likeBlocks.values()) if (c.superblock === sb) c.superblock = null;
    return true;
  }

  private superblockOf(addr: number): Superblock | null {
    for (const s of this.aside) if (addr >= s.start && addr < s.start + Math.max(s.size, 1)) return s;
    if (this.host.inStatic(addr)) return null;
    const o = this.host.engine.objectAt(addr);
    if (!o) return null;
    const sb: Superblock = { start: o.start, size: o.size, trace: o.trace, chunks: 0 };
    this.host.engine.free(o.start, 0);
    this.aside.push(sb);
    return sb;
  }

  private chunkGone(c: Chunk): void {
    const sb = c.superblock;
    if (!sb || --sb.chunks > 0) return;
    this.aside.splice(this.aside.indexOf(sb), 1);
    this.host.engine.alloc(sb.start, sb.size, 1, sb.trace);
  }

  private addChunk(pool: Pool, addr: number, size: number, trace: number): void {
    if (pool.chunks.has(addr)) this.freeChunk(pool, addr);
    const sb = this.superblockOf(addr);
    if (sb) sb.chunks++;
    pool.chunks.set(addr, { size, trace, superblock: sb });
    this.host.engine.alloc(addr, size, 1, trace);
  }

  private freeChunk(pool: Pool, addr: number): void {
    const c = pool.chunks.get(addr)!;
    pool.chunks.delete(addr);
    this.host.engine.free(addr, 0);
    this.chunkGone(c);
    if ((pool.flags & (AUTO_FREE | METAPOOL)) !== (AUTO_FREE | METAPOOL)) return;
    for (const [a, b] of this.likeBlocks) if (b.inMetapool && a >= addr && a < addr + c.size) this.likeBlocks.delete(a);
  }

  /** Whether addr lies in a chunk of a metapool. */
  private inMetapoolChunk(addr: number): boolean {
    for (const pool of this.pools.values()) {
      if (!(pool.flags & METAPOOL)) continue;
      for (const [a, c] of pool.chunks) if (addr >= a && addr < a + Math.max(c.size, 1)) return true;
    }
    return false;
  }

  private pool(anchor: number, what: string): Pool | null {
    const p = this.pools.get(anchor);
    if (!p) this.warn(`${what}: no memory pool at ${hex(anchor)} (VALGRIND_CREATE_MEMPOOL first)`);
    return p ?? null;
  }

  private guarded<A extends number[], R>(f: (...a: A) => R): (...a: A) => R {
    return (...a: A): R => {
      this.host.enter();
      try { return f(...a); } finally { this.host.leave(); }
    };
  }

  /** Runs a Memcheck leak check: mode 0 full, 1 added, 2 changed, 3 quick, 4 new. */
  private leakCheck(mode: number): void {
    this.host.scan();
    const leaks = this.host.leaks();
    let bytes = 0;
    const now = new Set<number>();
    let text = '';
    for (const l of leaks) {
      bytes += l.size;
      now.add(l.address);
      if (mode === 0 || (mode !== 3 && !this.lastLeaked.has(l.address))) text += l.text;
    }
    const live = this.host.engine.liveTotals();
    const c = this.counts;
    c[0] = bytes; c[1] = 0; c[2] = live.bytes - bytes; c[3] = 0;
    c[4] = leaks.length; c[5] = 0; c[6] = live.blocks - leaks.length; c[7] = 0;
    this.lastLeaked = now;
    if (text) this.host.print(text);
    this.host.print(`kmemleak: leak check: definitely lost: ${c[0]} bytes in ${c[4]} blocks; still reachable: ${c[2]} bytes in ${c[6]} blocks\n`);
  }

  imports(): Record<string, (...a: number[]) => number | void> {
    const e = this.host.engine;
    const u = (n: number): number => n >>> 0;
    return {
      running: () => 1,
      malloclike_block: this.guarded((addr: number, size: number) => {
        if (u(addr) === 0) return;
        if (this.inMetapoolChunk(u(addr))) {
          this.likeBlocks.set(u(addr), { size: u(size), trace: 0, superblock: null, inMetapool: true });
          return;
        }
        const sb = this.superblockOf(u(addr));
        if (sb) sb.chunks++;
        this.likeBlocks.set(u(addr), { size: u(size), trace: 0, superblock: sb });
        e.alloc(u(addr), u(size), 1, this.host.traceHere());
      }),
      freelike_block: this.guarded((addr: number) => {
        if (u(addr) === 0 || this.freedAside(u(addr))) return;
        const c = this.likeBlocks.get(u(addr));
        if (c) this.likeBlocks.delete(u(addr));
        if (c?.inMetapool) return;
        e.free(u(addr), 0);
        if (c) this.chunkGone(c);
      }),
      resizeinplace_block: this.guarded((addr: number, _old: number, size: number) => {
        const o = e.objectAt(u(addr));
        if (!o || o.start !== u(addr)) { this.warn(`VALGRIND_RESIZEINPLACE_BLOCK: no block at ${hex(addr)}`); return; }
        e.free(o.start, 0);
        e.alloc(o.start, u(size), 1, o.trace);
      }),
      create_mempool: this.guarded((anchor: number, _rz: number, _zeroed: number, flags: number) => {
        if (this.pools.has(u(anchor))) this.warn(`VALGRIND_CREATE_MEMPOOL: a pool already exists at ${hex(anchor)}`);
        else this.pools.set(u(anchor), { flags: flags & (AUTO_FREE | METAPOOL), chunks: new Map() });
      }),
      destroy_mempool: this.guarded((anchor: number) => {
        const p = this.pool(u(anchor), 'VALGRIND_DESTROY_MEMPOOL');
        if (!p) return;
        for (const addr of [...p.chunks.keys()]) this.freeChunk(p, addr);
        this.pools.delete(u(anchor));
      }),
      mempool_alloc: this.guarded((anchor: number, addr: number, size: number) => {
        const p = this.pool(u(anchor), 'VALGRIND_MEMPOOL_ALLOC');
        if (p) this.addChunk(p, u(addr), u(size), this.host.traceHere());
      }),
      mempool_free: this.guarded((anchor: number, addr: number) => {
        const p = this.pool(u(anchor), 'VALGRIND_MEMPOOL_FREE');
        if (!p || u(addr) === 0) return;
        if (!p.chunks.has(u(addr))) { this.warn(`VALGRIND_MEMPOOL_FREE: no chunk at ${hex(addr)} in the pool at ${hex(anchor)}`); return; }
        this.freeChunk(p, u(addr));
      }),
      mempool_trim: this.guarded((anchor: number, addr: number, size: number) => {
        const p = this.pool(u(anchor), 'VALGRIND_MEMPOOL_TRIM');
        if (!p) return;
        const lo = u(addr);
        const hi = lo + u(size);
        for (const [a, c] of [...p.chunks]) {
          const end = a + c.size;
          if (end <= lo || a >= hi) { this.freeChunk(p, a); continue; }
          if (a >= lo && end <= hi) continue;
          // Across an end of the range: only the part inside stays a chunk (Memcheck trims it).
          const ns = Math.max(a, lo);
          const trace = c.trace;
          this.freeChunk(p, a);
          this.addChunk(p, ns, Math.min(end, hi) - ns, trace);
        }
      }),
      move_mempool: this.guarded((from: number, to: number) => {
        const p = this.pool(u(from), 'VALGRIND_MOVE_MEMPOOL');
        if (!p) return;
        this.pools.delete(u(from));
        this.pools.set(u(to), p);
      }),
      mempool_change: this.guarded((anchor: number, from: number, to: number, size: number) => {
        const p = this.pool(u(anchor), 'VALGRIND_MEMPOOL_CHANGE');
        if (!p) return;
        const c = p.chunks.get(u(from));
        if (!c) { this.warn(`VALGRIND_MEMPOOL_CHANGE: no chunk at ${hex(from)} in the pool at ${hex(anchor)}`); return; }
        this.freeChunk(p, u(from));
        this.addChunk(p, u(to), u(size), c.trace);
      }),
      mempool_exists: (anchor: number) => (this.pools.has(u(anchor)) ? 1 : 0),
      do_leak_check: (mode: number) => { this.host.flush(); this.leakCheck(mode | 0); },
      count_leaks: (blocks: number, which: number) => this.counts[(blocks ? 4 : 0) + (which & 3)]!,
    };
  }
}

/** The requests with the detector off: nothing is tracked, RUNNING_ON_VALGRIND is 0. */
export function disabledValgrindImports(): Record<string, (...a: number[]) => number | void> {
  const names = ['running', 'malloclike_block', 'freelike_block', 'resizeinplace_block', 'create_mempool', 'destroy_mempool',
    'mempool_alloc', 'mempool_free', 'mempool_trim', 'move_mempool', 'mempool_change', 'mempool_exists', 'do_leak_check', 'count_leaks'];
  const out: Record<string, (...a: number[]) => number | void> = {};
  for (const n of names) out[n] = () => 0;
  return out;
}

/** An EnginePort whose free() first offers the pointer to `aside` (true: handled there). */
class PoolAwarePort implements EnginePort {
  readonly depot: EnginePort['depot'];
  constructor(private readonly e: EnginePort, private readonly aside: (ptr: number) => boolean) {
    this.depot = e.depot;
  }
  setContext(comm: string, pid: number): void { this.e.setContext(comm, pid); }
  attachMemory(buffer: () => ArrayBuffer, heap?: Parameters<EnginePort['attachMemory']>[1]): void { this.e.attachMemory(buffer, heap); }
  setRootProvider(p: Parameters<EnginePort['setRootProvider']>[0]): void { this.e.setRootProvider(p); }
  alloc(ptr: number, size: number, minCount: number, trace: number): void { this.e.alloc(ptr, size, minCount, trace); }
  free(ptr: number, trace: number): void { if (!this.aside(ptr >>> 0)) this.e.free(ptr, trace); }
  freePart(ptr: number, size: number): void { this.e.freePart(ptr, size); }
  notLeak(ptr: number): void { this.e.notLeak(ptr); }
  transientLeak(ptr: number): void { this.e.transientLeak(ptr); }
  ignore(ptr: number): void { this.e.ignore(ptr); }
  noScan(ptr: number): void { this.e.noScan(ptr); }
  scanArea(ptr: number, offset: number, length: number): void { this.e.scanArea(ptr, offset, length); }
  updateTrace(ptr: number, trace: number): void { this.e.updateTrace(ptr, trace); }
  scan(): number { return this.e.scan(); }
  exitScan(): number { return this.e.exitScan(); }
  write(cmd: string): string { return this.e.write(cmd); }
  read(): string { return this.e.read(); }
}
