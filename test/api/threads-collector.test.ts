/**
 * The main thread's merge of per-thread logs (src/api/threads/collector.ts, rules 2 and 6) on
 * hand-written logs: replay in sequence order across threads and chunks, each event with its
 * thread's comm and pid, chunks read to their end recycled and counted, a number reserved but
 * never committed given up after a bound (a worker terminated while logging), nothing replayed
 * twice. The end-to-end scenarios are in threads.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ThreadCollector, type CollectorParts } from '../../src/api/threads/collector.js';
import { CHUNK_BYTES, L } from '../../src/api/threads/layout.js';
import type { Backtraces } from '../../src/wasm/runtime/backtraces.js';

interface Fake { col: ThreadCollector; seen: string[]; logs: string[]; mem: Int32Array; ctl: Int32Array; mapped: number[] }

function collector(): Fake {
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 64, shared: true });
  const seen: string[] = [];
  const logs: string[] = [];
  const mapped: number[] = [];
  let comm = '';
  let pid = 0;
  const parts: CollectorParts = {
    memory,
    events: {
      alloc: (ptr, size, trace) => seen.push(`${comm}/${pid} alloc ${ptr} ${size} t${trace}`),
      free: (ptr) => seen.push(`${comm}/${pid} free ${ptr}`),
    },
    traces: { fromRaw: (_raw: Uint32Array, from: number, n: number) => { mapped.push(from); return 100 + n; } } as unknown as Backtraces,
    setContext: (c, p) => { comm = c; pid = p; },
    mainContext: () => ({ comm: 'main', pid: 1 }),
    functionName: (i) => `start${i}`,
    threadBlocks: (stack, pthread) => seen.push(`${comm}/${pid} thread ${stack} ${pthread}`),
    log: (l) => logs.push(l),
  };
  const col = new ThreadCollector(parts, 2);
  return { col, seen, logs, mem: new Int32Array(memory.buffer), ctl: new Int32Array(col.control), mapped };
}

/** A thread's slot: pid and start routine, its first chunk at `chunk`. */
function slot(f: Fake, s: number, pid: number, start: number, chunk: number): void {
  const base = L.SLOT_BASE + s * L.SLOT_WORDS;
  f.ctl[base + L.PID] = pid;
  f.ctl[base + L.START] = start;
  f.ctl[base + L.HEAD] = chunk;
  f.ctl[L.SLOTS_USED] = Math.max(f.ctl[L.SLOTS_USED]!, s + 1);
}

/** Appends a committed record to the chunk (records: seq, kind, a, b, c, ref). */
function record(f: Fake, chunk: number, seq: number, kind: number, a: number, b = 0, c = 0, ref = 0): void {
  const n = f.mem[(chunk >>> 2) + 1]!;
  const at = (chunk >>> 2) + L.CHUNK_HEADER_WORDS + n * L.REC_WORDS;
  f.mem.set([seq, kind, a, b, c, ref], at);
  f.mem[(chunk >>> 2) + 1] = n + 1;
}

describe('ThreadCollector.drain', () => {
  it('replays two threads\' logs in sequence order, each event under its thread\'s comm and pid, then main\'s again', () => {
    const f = collector();
    const A = 0x10000, B = A + CHUNK_BYTES;
    slot(f, 0, 2, 7, A);
    slot(f, 1, 3, 9, B);
    record(f, A, 0, L.ALLOC, 0x500, 16);
    record(f, B, 1, L.FREE, 0x500);           // a block allocated on one thread, freed on another
    record(f, A, 2, L.ALLOC, 0x600, 32);
    record(f, B, 3, L.REALLOC, 0x600, 0x700, 64);
    f.ctl[L.SEQ] = 4;
    expect(f.col.pending()).toBe(true);
    f.col.drain();
    expect(f.seen).toEqual([
      'start7/2 alloc 1280 16 t0', 'start9/3 free 1280', 'start7/2 alloc 1536 32 t0',
      'start9/3 free 1536', 'start9/3 alloc 1792 64 t0',
    ]);
    expect(f.col.pending()).toBe(false);
    f.col.drain();                               // nothing twice
    expect(f.seen).toHaveLength(5);
    expect(f.logs).toEqual([]);
  });

  it('follows a thread\'s log into its next chunk, recycles the full one and counts it for the thread\'s backlog', () => {
    const f = collector();
    const A = 0x10000, B = A + CHUNK_BYTES;
    slot(f, 0, 2, 7, A);
    for (let i = 0; i < L.CAP; i++) record(f, A, i, L.ALLOC, 0x1000 + 16 * i, 8);
    f.mem[A >>> 2] = B;                           // the writer moved on
    record(f, B, L.CAP, L.THREAD, 0x9000, 0x8000);
    f.ctl[L.SEQ] = L.CAP + 1;
    f.col.drain();
    expect(f.seen).toHaveLength(L.CAP + 1);
    expect(f.seen[L.CAP]).toBe('start7/2 thread 36864 32768');
    expect(f.ctl[L.FREE_COUNT]).toBe(1);
    expect(f.ctl[L.FREE_LIST]).toBe(A);
    expect(f.ctl[L.SLOT_BASE + L.READ_CHUNKS]).toBe(1);
  });

  it('waits for a number reserved but not committed, and gives it up when its writer never commits', () => {
    const f = collector();
    const A = 0x10000, B = A + CHUNK_BYTES;
    slot(f, 0, 2, 7, A);
    slot(f, 1, 3, 9, B);
    record(f, A, 0, L.ALLOC, 0x500, 16);
    // number 1 was reserved by thread 3, which died before committing it
    record(f, A, 2, L.FREE, 0x500);
    f.ctl[L.SEQ] = 3;
    const t = performance.now();
    f.col.drain();
    expect(performance.now() - t).toBeGreaterThanOrEqual(1900);   // COMMIT_WAIT_MS: bounded
    expect(f.seen).toEqual(['start7/2 alloc 1280 16 t0', 'start7/2 free 1280']);
    expect(f.logs).toEqual(['kmemleak: threads: 1 events never arrived (a thread ended while logging them); going on without them']);
  });

  it('gives a worker\'s trace reference its depot handle once', () => {
    const f = collector();
    const A = 0x10000;
    slot(f, 0, 2, 7, A);
    const traces = new Int32Array(f.col.traceStore);
    traces.set([3, 1, 2, 3, 4, 5, 6], 1);         // ref 1: 3 raw frames
    record(f, A, 0, L.ALLOC, 0x500, 16, 0, 1);
    record(f, A, 1, L.ALLOC, 0x600, 16, 0, 1);
    f.ctl[L.SEQ] = 2;
    f.col.drain();
    expect(f.seen).toEqual(['start7/2 alloc 1280 16 t103', 'start7/2 alloc 1536 16 t103']);
    expect(f.mapped).toEqual([2]);                // frames read once, after the count word
  });
});
