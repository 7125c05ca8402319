/**
 * The main thread's side of a threaded program (Emscripten -pthread) under the detector: it owns
 * the rules every thread follows, as kmemleak.c's header owns its locking rules.
 *
 * Rules:
 * 1. One engine, on the main thread. Only the main thread changes it. The main thread's own hooks
 *    call it directly (as for any module); every other thread logs its events (worker-source.ts)
 *    and the main thread replays them here (drain).
 * 2. One order. Every logged event takes a sequence number from one shared counter (Atomics.add)
 *    at the moment it is logged: an allocation after the allocator returned, a free before the
 *    allocator runs (wrappers.ts's contract). So for any address, alloc < free < the next alloc
 *    in that order, and a block handed to another thread is freed after its allocation was
 *    numbered. drain replays strictly in that order, merging the per-thread logs; a number
 *    reserved but not yet committed (its writer is between two stores) is waited for.
 *    (Not covered: realloc is reported after it returned, so a malloc on another thread that
 *    gets the old address in between can be numbered first; the engine then warns.)
 * 3. Others' events before the main thread's own. Each main-thread hook drains first, so the
 *    events other threads numbered before it are in the engine before the main thread's: a free
 *    on the main thread of a block a worker allocated finds it, and so does the reverse (the
 *    worker's free is numbered after the main hook returned the block). The main thread also
 *    drains at Emscripten's clock import (its sleeps and busy-waits) and before every scan.
 * 4. Scans stop the world. Before a scan's snapshot the main thread sets STOP; every running
 *    thread parks at its next hook (publishing its stack pointer) and waits until the scan ends.
 *    The main thread waits for them at most STOP_WAIT_MS: a thread blocked in a wait (a futex in
 *    wasm: no hook runs) or computing without allocating is not waited for any longer; its whole
 *    stack region is scanned instead of its live part, and the scan runs while it may run (its
 *    stores after the scan read a word can hide a pointer: kmemleak's concurrent-scan caveat; a
 *    block is only reported once older than min-age, and the exit scan runs with threads joined).
 *    A chunked scan (Kmemleak.scanAsync, between event-loop turns) holds the world only while it
 *    takes its snapshot and roots; its chunks then run while the threads run, with that caveat.
 * 5. Roots of a thread: its stack region, live part [SP, top) when parked, else [lo, top) (the
 *    stack's heap block, which pthread_create allocated, is neither scanned whole nor reported:
 *    no_scan and not_leak, and the pthread struct, which only JS may hold for a detached
 *    thread, is not_leak, like the kernel's task stacks and task_structs; both are marked by a
 *    THREAD record the thread logs when its stack is set up, so in order, before its events,
 *    and never on a block that reuses the address later); its
 *    TLS block (allocated by emscripten_tls_init) gets min_count 0 like C start-up blocks
 *    (allocator-frames.ts): greyed for good, so its words are roots until the thread frees it.
 * 6. Threads never call the engine. A log chunk is reused only after the main thread read all of
 *    it (the free list). A thread waits for the main thread only while parked, or when its
 *    backlog (chunks not yet read) passes BACKLOG_CHUNKS while the main thread is draining
 *    (it drained within the last DRAIN_FRESH_MS): then up to that long per chunk, so that
 *    threads that allocate faster than one thread can replay do not outgrow the memory. When
 *    the main thread is blocked (pthread_join: no JS runs there), threads do not wait: they log
 *    into new chunks from the program's malloc, and nothing is lost or blocked (the backlog costs
 *    24 bytes an event until the main thread is back).
 *
 * Hot path (drain per event): no JS object is allocated; per-slot state is in typed arrays.
 */
import { CHUNK_BYTES, CONTROL_WORDS, L, TRACE_WORDS } from './layout.js';
import type { EventSink } from '../../wasm/runtime/event-log.js';
import type { Backtraces } from '../../wasm/runtime/backtraces.js';

/** How long a scan waits for running threads to park (ms). */
export const STOP_WAIT_MS = 50;
/** How long drain waits for a reserved sequence number to be committed before giving it up (ms). */
const COMMIT_WAIT_MS = 2000;

export interface CollectorParts {
  memory: WebAssembly.Memory;
  events: EventSink;
  traces: Backtraces;
  /** engine.setContext */
  setContext(comm: string, pid: number): void;
  /** The main thread's comm and pid, restored after replaying other threads' events. */
  mainContext(): { comm: string; pid: number };
  /** no_scan + not_leak on the thread's stack block, not_leak on its pthread struct (rule 5). */
  threadBlocks(stackLo: number, pthread: number): void;
  /** The name of a function of the rewritten module (a pthread's start routine), or null. */
  functionName(rewrittenIndex: number): string | null;
  log(line: string): void;
}

const now: () => number = typeof performance !== 'undefined' ? () => performance.now() : () => Date.now();

export class ThreadCollector {
  readonly control = new SharedArrayBuffer(CONTROL_WORDS * 4);
  readonly traceStore = new SharedArrayBuffer(TRACE_WORDS * 4);
  private readonly ctl = new Int32Array(this.control);
  private readonly traceWords = new Uint32Array(this.traceStore);
  private heap: Int32Array;
  /** The next sequence number to replay. */
  private next = 0;
  private readonly readChunk = new Uint32Array(L.MAX_SLOTS);
  private readonly readIdx = new Int32Array(L.MAX_SLOTS);
  private readonly committed = new Int32Array(L.MAX_SLOTS);
  private readonly parkedNow = new Uint8Array(L.MAX_SLOTS);
  private readonly refHandles = new Map<number, number>();
  private readonly comms = new Map<number, string>();
  private epoch = 0;
  private stopped = false;
  private draining = false;
  private canWait: boolean | null = null;
  /** Threads that did not park for the last stop (whole stack scanned), for tests and docs. */
  notParked = 0;

  constructor(private readonly p: CollectorParts, firstPid: number) {
    this.heap = new Int32Array(p.memory.buffer);
    Atomics.store(this.ctl, L.NEXT_PID, firstPid);
    Atomics.store(this.ctl, L.TRACE_TOP, 1);   // ref 0 = no trace
  }

  /** Whether other threads logged events not replayed yet (one atomic load). */
  pending(): boolean {
    return Atomics.load(this.ctl, L.SEQ) !== this.next;
  }

  /** Replays, in sequence order, every event numbered before now (rule 2). */
  drain(): void {
    if (this.draining) return;
    const end = Atomics.load(this.ctl, L.SEQ);
    if (end === this.next) return;
    this.draining = true;
    let lastSlot = -1;
    let waitingSince = 0;
    try {
      while (this.next !== end) {
        const s = this.findNext(lastSlot);
        if (s < 0) {
          // Reserved, not yet committed: its writer is between two stores (or was killed).
          const t = now();
          if (waitingSince === 0) waitingSince = t;
          else if (t - waitingSince > COMMIT_WAIT_MS) {
            this.skipLost(end);
            waitingSince = 0;
          }
          continue;
        }
        waitingSince = 0;
        if (s !== lastSlot) {
          lastSlot = s;
          const base = L.SLOT_BASE + s * L.SLOT_WORDS;
          this.p.setContext(this.commOf(base), Atomics.load(this.ctl, base + L.PID));
        }
        this.apply(s);
        this.next = (this.next + 1) | 0;
        if ((this.next & 4095) === 0) this.publishDrain();
      }
    } finally {
      this.draining = false;
      this.publishDrain();
      if (lastSlot >= 0) {
        const m = this.p.mainContext();
        this.p.setContext(m.comm, m.pid);
      }
    }
  }

  /** Rule 6: threads with a long backlog wait for this while the main thread keeps draining. */
  private publishDrain(): void {
    Atomics.store(this.ctl, L.MAIN_DRAINED_AT, Date.now() & 0x3fffffff);
    Atomics.add(this.ctl, L.DRAINS, 1);
    Atomics.notify(this.ctl, L.DRAINS);
  }

  /**
   * Gives up events numbered but never committed (a worker terminated while logging, e.g. when the
   * program aborted): goes on at the lowest number a log holds, or at `end`.
   */
  private skipLost(end: number): void {
    let lowest = end;
    const used = Math.min(Atomics.load(this.ctl, L.SLOTS_USED), L.MAX_SLOTS);
    for (let s = 0; s < used; s++) {
      const seq = this.headSeq(s);
      if (seq !== null && ((seq - this.next) | 0) > 0 && ((seq - lowest) | 0) < 0) lowest = seq;
    }
    this.p.log(`kmemleak: threads: ${(lowest - this.next) | 0} events never arrived (a thread ended while logging them); going on without them`);
    this.next = lowest;
  }

  private headSeq(s: number): number | null {
    const c = this.readChunk[s]!;
    if (c === 0 || this.readIdx[s] === L.CAP) return null;
    const h = this.view(c);
    const i = this.readIdx[s]!;
    if (i >= Atomics.load(h, (c >>> 2) + 1)) return null;
    return h[(c >>> 2) + L.CHUNK_HEADER_WORDS + i * L.REC_WORDS]!;
  }

  /** The slot whose next committed record carries sequence number `next`, or -1. */
  private findNext(hint: number): number {
    if (hint >= 0 && this.headSeqIs(hint)) return hint;
    const used = Math.min(Atomics.load(this.ctl, L.SLOTS_USED), L.MAX_SLOTS);
    for (let s = 0; s < used; s++) if (s !== hint && this.headSeqIs(s)) return s;
    return -1;
  }

  private headSeqIs(s: number): boolean {
    let c = this.readChunk[s]!;
    if (c === 0) {
      c = Atomics.load(this.ctl, L.SLOT_BASE + s * L.SLOT_WORDS + L.HEAD) >>> 0;
      if (c === 0) return false;
      this.readChunk[s] = c;
      this.readIdx[s] = 0;
      this.committed[s] = 0;
    }
    let h = this.view(c);
    if (this.readIdx[s] === L.CAP) {
      const nextChunk = Atomics.load(h, c >>> 2) >>> 0;
      if (nextChunk === 0) return false;
      this.recycle(c);
      Atomics.add(this.ctl, L.SLOT_BASE + s * L.SLOT_WORDS + L.READ_CHUNKS, 1);
      c = nextChunk;
      this.readChunk[s] = c;
      this.readIdx[s] = 0;
      this.committed[s] = 0;
      h = this.view(c);
    }
    const i = this.readIdx[s]!;
    // The committed count is re-read (an atomic load) only when the records known are used up.
    if (i >= this.committed[s]!) {
      this.committed[s] = Atomics.load(h, (c >>> 2) + 1);
      if (i >= this.committed[s]!) return false;
    }
    return h[(c >>> 2) + L.CHUNK_HEADER_WORDS + i * L.REC_WORDS] === this.next;
  }

  private apply(s: number): void {
    const c = this.readChunk[s]!;
    const h = this.heap;
    const at = (c >>> 2) + L.CHUNK_HEADER_WORDS + this.readIdx[s]! * L.REC_WORDS;
    this.readIdx[s]!++;
    const kind = h[at + 1]!;
    const a = h[at + 2]! >>> 0;
    if (kind === L.FREE) {
      this.p.events.free(a, 0);
    } else if (kind === L.ALLOC) {
      this.p.events.alloc(a, h[at + 3]! >>> 0, this.handleOf(h[at + 5]! >>> 0));
    } else if (kind === L.THREAD) {
      this.p.threadBlocks(a, h[at + 3]! >>> 0);
    } else if (kind === L.REALLOC) {
      if (a !== 0) this.p.events.free(a, 0);
      this.p.events.alloc(h[at + 3]! >>> 0, h[at + 4]! >>> 0, this.handleOf(h[at + 5]! >>> 0));
    }
  }

  /** The depot handle of a trace a worker stored (its raw frames mapped as a capture here). */
  private handleOf(ref: number): number {
    if (ref === 0) return 0;
    let handle = this.refHandles.get(ref);
    if (handle === undefined) {
      const n = Atomics.load(this.traceWords, ref);
      handle = this.p.traces.fromRaw(this.traceWords, ref + 1, Math.min(n, L.MAX_RAW_FRAMES));
      this.refHandles.set(ref, handle);
    }
    return handle;
  }

  private commOf(base: number): string {
    const start = Atomics.load(this.ctl, base + L.START);
    let comm = this.comms.get(start);
    if (comm === undefined) {
      comm = (start >= 0 ? this.p.functionName(start) : null) ?? 'pthread';
      this.comms.set(start, comm);
    }
    return comm;
  }

  /** A view of the memory that covers chunk c (the memory may have grown). */
  private view(c: number): Int32Array {
    if ((c >>> 0) + CHUNK_BYTES > this.heap.byteLength) this.heap = new Int32Array(this.p.memory.buffer);
    return this.heap;
  }

  /** Puts a chunk read to its end on the free list (or leaves it when the list is full). */
  private recycle(c: number): void {
    const ctl = this.ctl;
    while (Atomics.compareExchange(ctl, L.LOCK, 0, 1) !== 0) { /* a worker holds it for a few stores */ }
    const n = ctl[L.FREE_COUNT]!;
    if (n < L.FREE_MAX) {
      ctl[L.FREE_LIST + n] = c | 0;
      ctl[L.FREE_COUNT] = n + 1;
    }
    Atomics.store(ctl, L.LOCK, 0);
  }

  /** Rule 4: asks every running thread to park, waits at most STOP_WAIT_MS, then drains. */
  stopWorld(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.epoch = this.epoch >= 0x7ffffffe ? 1 : this.epoch + 1;
    const ctl = this.ctl;
    Atomics.store(ctl, L.STOP, this.epoch);
    const deadline = now() + STOP_WAIT_MS;
    for (;;) {
      const wake = Atomics.load(ctl, L.PARKED_WAKE);
      if (this.countNotParked() === 0) break;
      const left = deadline - now();
      if (left <= 0) break;
      if (this.waitAllowed()) Atomics.wait(ctl, L.PARKED_WAKE, wake, Math.min(left, 5));
    }
    this.notParked = this.countNotParked();
    this.drain();
  }

  /** Lets parked threads go on. */
  resumeWorld(): void {
    if (!this.stopped) return;
    this.stopped = false;
    Atomics.store(this.ctl, L.STOP, 0);
    Atomics.notify(this.ctl, L.STOP);
  }

  private countNotParked(): number {
    const used = Math.min(Atomics.load(this.ctl, L.SLOTS_USED), L.MAX_SLOTS);
    let n = 0;
    for (let s = 0; s < used; s++) {
      const base = L.SLOT_BASE + s * L.SLOT_WORDS;
      const parked = Atomics.load(this.ctl, base + L.PARKED) === this.epoch;
      this.parkedNow[s] = parked ? 1 : 0;
      if (!parked && Atomics.load(this.ctl, base + L.STATE) === L.RUNNING) n++;
    }
    return n;
  }

  /** Rule 5: every running thread's stack, live part when it parked for this stop. */
  addRoots(add: (start: number, end: number) => void): void {
    const used = Math.min(Atomics.load(this.ctl, L.SLOTS_USED), L.MAX_SLOTS);
    for (let s = 0; s < used; s++) {
      const base = L.SLOT_BASE + s * L.SLOT_WORDS;
      if (Atomics.load(this.ctl, base + L.STATE) !== L.RUNNING) continue;
      const hi = Atomics.load(this.ctl, base + L.STACK_HI) >>> 0;
      const lo = Atomics.load(this.ctl, base + L.STACK_LO) >>> 0;
      if (hi === 0 || hi <= lo) continue;
      const sp = this.parkedNow[s] === 1 ? Atomics.load(this.ctl, base + L.SP) >>> 0 : 0;
      add(sp > lo && sp <= hi ? sp : lo, hi);
    }
  }

  /** Stacks of running threads, [lo, hi) pairs: their blocks are scanned as roots, not objects. */
  threadStacks(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    const used = Math.min(Atomics.load(this.ctl, L.SLOTS_USED), L.MAX_SLOTS);
    for (let s = 0; s < used; s++) {
      const base = L.SLOT_BASE + s * L.SLOT_WORDS;
      const hi = Atomics.load(this.ctl, base + L.STACK_HI) >>> 0;
      const lo = Atomics.load(this.ctl, base + L.STACK_LO) >>> 0;
      if (Atomics.load(this.ctl, base + L.STATE) === L.RUNNING && hi > lo) out.push([lo, hi]);
    }
    return out;
  }

  /** Atomics.wait is allowed on this thread (Node's main thread: yes; a browser's: no). */
  private waitAllowed(): boolean {
    if (this.canWait === null) {
      try {
        Atomics.wait(this.ctl, L.PARKED_WAKE, Atomics.load(this.ctl, L.PARKED_WAKE) + 1, 0);
        this.canWait = true;
      } catch {
        this.canWait = false;
      }
    }
    return this.canWait;
  }
}
