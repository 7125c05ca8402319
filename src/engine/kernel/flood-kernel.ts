/**
 * The scanner's flood run by a WebAssembly SIMD kernel (flood.c) inside the heap's own
 * WebAssembly.Memory, so the heap is read in place. ScanRun uses it for a flood that runs to
 * completion (scan(), exitScan(), finishing a scan) when the heap is a WebAssembly.Memory; the
 * JavaScript flood remains for chunked scans and plain ArrayBuffers, and both are checked against
 * the same reference model (test/engine/property.test.ts).
 *
 * Invariants:
 * - The kernel's state (entries, page table, white bitmap, queue, candidates) lives in a scratch
 *   region of that memory that no snapshot entry and no range still to scan covers: the kernel
 *   never reads it as heap. Its bytes are saved before the flood and put back after it, even if
 *   the flood throws, and nothing else runs in between (the program is stopped; nothing yields).
 *   So a region of free heap, malloc's own bookkeeping included, can be borrowed.
 * - Without such a gap the memory is grown, only where the embedder allows it (`mayGrow`: the CLI
 *   runtime, whose WASI libc takes new pages from memory.grow and re-reads memory.buffer, so
 *   pages it never asked for are simply never used by it), and only within half of `maxBytes`
 *   when the memory declares a maximum, or by at most an eighth of the room left below it. Grown pages are zeroed afterwards, as
 *   fresh pages are. If the memory cannot grow, the caller floods in JavaScript.
 * - Results come back as the snapshot's `need` values (copied out), the number of entries that
 *   turned grey, and the white count: what the JavaScript flood would leave. The kernel keeps its
 *   own white bitmap (built from `need` by whiten(), at its own granule), so the snapshot's is
 *   stale afterwards: the scanner rebuilds it if it floods in JavaScript later.
 */

import { F_ALLOCATED, F_HAS_AREAS, F_NO_SCAN, type ObjectTable } from '../object-table.js';
import type { AddressSnapshot } from '../address-index.js';
import { FLOOD_WASM_BASE64 } from './flood-wasm.js';

/** The heap as the kernel needs it: the memory object, and whether it may be grown for scratch. */
export interface HeapMemory {
  memory: WebAssembly.Memory;
  /** Read at each flood: the embedder may allow growth for some scans only (the exit scan). */
  mayGrow: boolean;
  /**
   * The memory's declared maximum in bytes, if any: it is grown for scratch only while it stays
   * within half of it, or by at most an eighth of the room left, so the program keeps the room it
   * was built to expect.
   */
  maxBytes?: number;
}

interface KernelExports {
  init(ctx: number): void;
  whiten(ctx: number): void;
  scan_range(ctx: number, ws: number, we: number): void;
  flood(ctx: number): number;
}

// Ctx fields (u32 each) at their index in flood.c's struct; the others start at 0.
const C_LO = 0;
const C_SPAN = 1;
const C_SHIFT = 2;
const C_GSHIFT = 3;
const C_ENT = 4;
const C_PAGE = 5;
const C_BITS = 6;
const C_QUEUE = 7;
const C_QTAIL = 9;
const C_WHITES = 10;
const C_MEMWORDS = 11;
const C_SPECIAL = 12;
const C_NENT = 15;
const C_SORT_BITS = 16;
const C_COUNTS = 17;
const C_STAGE = 18;
const C_CAND = 19;
const C_CAND_SORTED = 20;
const C_CAND_CAP = 22;
const C_SHUF = 23;
const CTX_BYTES = 128;

/** flood.c's flag bits above the need byte. */
const NEED_NO_SCAN = 0x100;
const NEED_AREAS = 0x200;
/** flood.c's CHUNK (words filtered per step) and bucket count. */
const CHUNK = 4096;
const COUNTS_WORDS = 4096;
/** Candidate batch bounds (words); a batch must hold more than one CHUNK. */
const CAND_MIN = 2 * CHUNK;
const CAND_MAX = 1 << 18;
const PAGE = 65536;
/** The end of a 4 GiB memory: where object ends are clipped. */
const MEM_END = 2 ** 32;

/** The scratch region's parts, in layout order. */
const PARTS = ['ctx', 'shuf', 'counts', 'stage', 'ent', 'page', 'bits', 'queue', 'sortBits', 'cand', 'candSorted'] as const;
type Part = (typeof PARTS)[number];

let compiled: WebAssembly.Module | null | undefined;
const instances = new WeakMap<WebAssembly.Memory, KernelExports | null>();

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(s), (ch) => ch.charCodeAt(0));
}

/** The kernel instantiated over `memory`, or null where WebAssembly SIMD is unavailable. */
function kernelFor(memory: WebAssembly.Memory): KernelExports | null {
  const known = instances.get(memory);
  if (known !== undefined) return known;
  let ex: KernelExports | null = null;
  try {
    if (compiled === undefined) compiled = new WebAssembly.Module(decodeBase64(FLOOD_WASM_BASE64));
    if (compiled) ex = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as KernelExports;
  } catch {
    compiled ??= null;
    ex = null;
  }
  instances.set(memory, ex);
  return ex;
}

const align16 = (x: number): number => Math.ceil(x / 16) * 16;

/**
 * Whether a memory with a declared maximum may grow by `grow` bytes for scratch: while it stays
 * within half of the maximum, or past that when the growth takes at most an eighth of the room
 * left (a 2.2 GB heap with a 4 GiB maximum still floods in the kernel, and keeps 7/8 of its room;
 * the grown pages are reused by later scans).
 */
function growthAllowed(oldBytes: number, grow: number, maxBytes: number): boolean {
  return oldBytes + grow <= maxBytes / 2 || grow <= (maxBytes - oldBytes) / 8;
}

/**
 * A flood in progress in the kernel. Open with FloodSession.open(); end with close() (results
 * copied out, scratch restored) or abandon() (scratch restored only).
 */
export class FloodSession {
  private closed = false;
  private ctxWords = new Uint32Array(0);

  private constructor(
    private readonly ex: KernelExports,
    private readonly memory: WebAssembly.Memory,
    private readonly ctx: number,
    private readonly n: number,
    private readonly region: number,
    private readonly regionBytes: number,
    /** The region's first bytes before the flood, up to its last non-zero word (null: all zero). */
    private readonly saved: Uint8Array | null,
    private readonly qStart: number,
  ) {}

  /**
   * Lays out a flood over `snap` in a scratch region of the heap, or returns null (no kernel, no
   * room). `busy` holds the word ranges [ws, we) still to be scanned (triples: ws, we, owner), so
   * the region avoids them; `whites` is the scan's white count.
   */
  static open(
    heap: HeapMemory,
    snap: AddressSnapshot,
    t: ObjectTable,
    busy: Uint32Array,
    busyTop: number,
    whites: number,
  ): FloodSession | null {
    const ex = kernelFor(heap.memory);
    if (!ex) return null;
    const n = snap.n;
    // The kernel's own white bitmap, one granule per page half (about one object): a smaller
    // bitmap than the JavaScript flood's stays in L2, and the filter's reads of it dominate.
    const gshift = Math.max(2, snap.shift - 1);
    const cap = Math.min(Math.max(n, CAND_MIN), CAND_MAX);
    const size: Record<Part, number> = {
      ctx: CTX_BYTES,
      shuf: 256, // the swizzle table
      counts: COUNTS_WORDS * 4,
      stage: CHUNK * 4 + 64, // one step's in-range words, + one vector of slack
      ent: 12 * n, // start, end, need
      page: 4 * snap.pages,
      bits: 4 * Math.ceil((Math.floor((snap.span - 1) / 2 ** gshift) + 1) / 32), // white bitmap
      queue: 4 * (n + 1),
      sortBits: 4 * Math.ceil(n / 32), // for sorting queue generations
      cand: 4 * cap,
      candSorted: 4 * cap,
    };
    const at = {} as Record<Part, number>;
    let total = 0;
    for (const part of PARTS) {
      at[part] = total;
      total += align16(size[part]);
    }
    const memory = heap.memory;
    const oldBytes = memory.buffer.byteLength;
    const region = findGap(snap, t, busy, busyTop, oldBytes, total, heap.mayGrow);
    if (region < 0) return null;
    const growPages = Math.ceil((region + total - oldBytes) / PAGE);
    if (growPages > 0) {
      if (heap.maxBytes !== undefined && !growthAllowed(oldBytes, growPages * PAGE, heap.maxBytes)) return null;
      try {
        memory.grow(growPages);
      } catch {
        return null; // at its maximum: the caller floods in JavaScript
      }
    }
    const buf = memory.buffer;
    for (const part of PARTS) at[part] += region;
    // Only the region's bytes up to its last non-zero word are copied: the rest is zeroed again.
    // (The top gap of a second flood is mostly the zeroed pages grown by the first, after a few
    // non-zero bytes of the heap's tail: copying it all cost 18 bytes an object of JS memory.)
    const keep = Math.max(0, Math.min(total, oldBytes - region));
    const dirty = nonZeroPrefix(new Int32Array(buf), region, keep);
    const saved = dirty === 0 ? null : new Uint8Array(buf, region, dirty).slice();
    const session = new FloodSession(ex, memory, at.ctx, n, region, total, saved, at.queue);
    try {
      session.load(snap, t, whites, gshift, cap, at, size, oldBytes);
    } catch (e) {
      session.abandon();
      throw e;
    }
    return session;
  }

  /** Writes the Ctx and the kernel's copies of the snapshot into the scratch region. */
  private load(
    snap: AddressSnapshot,
    t: ObjectTable,
    whites: number,
    gshift: number,
    cap: number,
    at: Record<Part, number>,
    size: Record<Part, number>,
    oldBytes: number,
  ): void {
    const ex = this.ex;
    const ctx = this.ctx;
    const n = this.n;
    const buf = this.memory.buffer;
    const u32 = new Uint32Array(buf);
    const c = new Uint32Array(buf, ctx, CTX_BYTES >>> 2);
    c.fill(0); // heap (the memory's start), qHead, sortedTo, nCand, top, sink, touchedTo: 0
    c[C_LO] = snap.lo;
    c[C_SPAN] = snap.span;
    c[C_SHIFT] = snap.shift;
    c[C_GSHIFT] = gshift;
    c[C_ENT] = at.ent;
    c[C_PAGE] = at.page;
    c[C_BITS] = at.bits;
    c[C_QUEUE] = at.queue;
    c[C_WHITES] = whites;
    c[C_MEMWORDS] = Math.floor(oldBytes / 4); // grown pages hold no heap; 4 GiB: 2^32 >>> 2 is 0
    c[C_NENT] = n;
    c[C_SORT_BITS] = at.sortBits;
    c[C_COUNTS] = at.counts;
    c[C_STAGE] = at.stage;
    c[C_CAND] = at.cand;
    c[C_CAND_SORTED] = at.candSorted;
    c[C_CAND_CAP] = cap;
    c[C_SHUF] = at.shuf;
    copyEntries(snap, t, new Uint32Array(buf), at.ent >>> 2);
    u32.set(new Uint32Array(snap.page.buffer, snap.page.byteOffset, snap.pages), at.page >>> 2);
    u32.fill(0, at.bits >>> 2, (at.bits + size.bits) >>> 2);
    u32.fill(0, at.sortBits >>> 2, (at.sortBits + size.sortBits) >>> 2);
    ex.init(ctx);
    ex.whiten(ctx);
  }

  /** The Ctx words (the memory does not grow while a session is open: one view serves). */
  private ctxView(): Uint32Array {
    if (this.ctxWords.buffer !== this.memory.buffer) this.ctxWords = new Uint32Array(this.memory.buffer, this.ctx, CTX_BYTES >>> 2);
    return this.ctxWords;
  }

  /** Scans the words [ws, we) of the heap (a root range or a scan area). */
  scanRange(ws: number, we: number): void {
    if (we > ws) this.ex.scan_range(this.ctx, ws, we);
  }

  /** Queues entries (grey, not yet scanned) after those the kernel already holds. */
  enqueue(queue: Uint32Array, from: number, to: number): void {
    if (to <= from) return;
    const c = this.ctxView();
    const tail = c[C_QTAIL]!;
    new Uint32Array(this.memory.buffer, this.qStart, this.n + 1).set(queue.subarray(from, to), tail);
    c[C_QTAIL] = tail + (to - from);
  }

  /** Floods until the queue is empty (-1) or an entry with scan areas comes up (its index). */
  flood(): number {
    if (this.ex.flood(this.ctx) === 0) return -1;
    return this.ctxView()[C_SPECIAL]!;
  }

  /**
   * Copies the colours back (need values into `need`) and restores the scratch region. Returns
   * the white count. The caller's white bitmap is stale then.
   */
  close(need: Uint8Array): number {
    const buf = this.memory.buffer;
    const c = this.ctxView();
    const whites = c[C_WHITES]!;
    const kent = new Int32Array(buf, c[C_ENT]!, 3 * this.n);
    for (let e = 0, j = 2; e < this.n; e++, j += 3) need[e] = kent[j]! & 0xff;
    this.restore();
    return whites;
  }

  /** Restores the scratch region without reading results (the flood failed). */
  abandon(): void {
    this.restore();
  }

  private restore(): void {
    if (this.closed) return;
    this.closed = true;
    const u8 = new Uint8Array(this.memory.buffer);
    const savedBytes = this.saved ? this.saved.length : 0;
    if (this.saved) u8.set(this.saved, this.region);
    // The rest was zero (pages grown for the region too, as fresh pages are).
    u8.fill(0, this.region + savedBytes, this.region + this.regionBytes);
  }
}

/** Bytes the snapshot's objects cover. */
function liveBytes(snap: AddressSnapshot, t: ObjectTable): number {
  const { ord, n } = snap;
  const size = t.size;
  let sum = 0;
  for (let e = 0; e < n; e++) sum += size[ord[e]!]!;
  return sum;
}

/** Bytes from `at` up to and including the last non-zero word of [at, at + bytes) (both 4-aligned); 0 if all zero. */
function nonZeroPrefix(i32: Int32Array, at: number, bytes: number): number {
  const first = at >>> 2;
  for (let w = (at + bytes) / 4 - 1; w >= first; w--) if (i32[w] !== 0) return (w + 1) * 4 - at;
  return 0;
}

/**
 * Entries into the kernel's copy as [start, end, need] (offsets from lo; an end is capped at
 * 2^32 and a zero-sized object covers one byte, as in the snapshot): need flagged for entries the
 * kernel must not scan itself (no_scan, freed) or must hand back (scan areas).
 */
function copyEntries(snap: AddressSnapshot, t: ObjectTable, out: Uint32Array, at: number): void {
  const { ord, need: needs, n, lo } = snap;
  const { flags, start, size } = t;
  for (let e = 0, j = at; e < n; e++, j += 3) {
    const s = ord[e]!;
    const f = flags[s]!;
    let need = needs[e]!;
    if (f & F_NO_SCAN || !(f & F_ALLOCATED)) need |= NEED_NO_SCAN;
    else if (f & F_HAS_AREAS) need |= NEED_AREAS;
    const st = start[s]!;
    const sz = size[s]!;
    const end = st + (sz === 0 ? 1 : sz);
    out[j] = st - lo;
    out[j + 1] = (end > MEM_END ? MEM_END : end) - lo;
    out[j + 2] = need;
  }
}

/**
 * A 16-aligned byte address where `bytes` of scratch overlap no snapshot entry and no busy range:
 * the top of memory first, then the gaps between entries from the top down; else the pages the
 * memory would grow by, only if `mayGrow`. -1 if there is no room.
 */
function findGap(snap: AddressSnapshot, t: ObjectTable, busy: Uint32Array, busyTop: number, memBytes: number, bytes: number, mayGrow: boolean): number {
  const lo = snap.lo;
  if (!mayGrow && memBytes - liveBytes(snap, t) < bytes) return -1; // not even all free bytes together
  // Moves x past every busy range that [x, x + bytes) overlaps; returns x.
  const clearOfRanges = (x: number): number => {
    for (let again = true; again; ) {
      again = false;
      for (let r = 0; r < busyTop; r += 3) {
        const a = busy[r]! * 4;
        const b = busy[r + 1]! * 4;
        if (b > a && a < x + bytes && x < b) {
          x = align16(b);
          again = true;
        }
      }
    }
    return x;
  };
  // From the top down: the gap after entry i - 1 and before entry i (i = n: up to memBytes).
  for (let i = snap.n; i >= 0; i--) {
    const gapStart = i === 0 ? 16 : snap.endOf(i - 1) + lo;
    const gapEnd = Math.min(i === snap.n ? memBytes : snap.startOf(i) + lo, memBytes);
    if (gapEnd - gapStart < bytes) continue;
    const x = clearOfRanges(align16(gapStart));
    if (x + bytes <= gapEnd) return x;
  }
  // Grown pages: nothing is read there (entries and ranges are clipped to the old size).
  if (!mayGrow) return -1;
  return memBytes + bytes <= 0x100000000 ? memBytes : -1;
}
