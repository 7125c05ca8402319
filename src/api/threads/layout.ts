/**
 * The shared state of a threaded program under the detector: word offsets in the control block
 * (a SharedArrayBuffer every thread's hooks see) and the layout of the per-thread event logs in
 * the program's own memory. One table, read by both sides: the worker bootstrap's JavaScript
 * (worker-source.ts embeds these numbers) and the main thread's collector (collector.ts).
 *
 * Control block (Int32Array):
 *   SEQ          next event sequence number (Atomics.add by a writer, reserved per event)
 *   STOP         0, or the epoch of the stop-the-world the main thread asked for
 *   PARKED_WAKE  bumped (and notified) by each thread that parks
 *   NEXT_PID     the next thread id handed to a pthread that starts
 *   SLOTS_USED   slots claimed (one per worker instance)
 *   LOCK         spinlock of the chunk free list
 *   FREE_COUNT   chunks on the free list (FREE_LIST words)
 *   TRACE_TOP    next free word of the trace store (a separate SharedArrayBuffer)
 *   MAIN_DRAINED_AT, DRAINS   when the main thread last drained, and a counter it notifies
 *   slot s at SLOT_BASE + s * SLOT_WORDS: HEAD (first log chunk), STATE, PID, START (start
 *   routine, rewritten-module function index, -1 unknown), PTHREAD, STACK_LO, STACK_HI, SP
 *   (published when parked), PARKED (the epoch it parked for, 0 when running), READ_CHUNKS.
 *
 * Log chunk (in linear memory, from the program's raw malloc): NEXT (i32), COUNT (i32, committed
 * records; Atomics.store by the writer after the record's words), 2 words padding, then CAP
 * records of REC_WORDS words: seq, kind, a, b, c, trace ref.
 *   alloc   a = ptr, b = size            free   a = ptr            realloc  a = old, b = new, c = size
 *   thread  a = stack block, b = pthread struct (logged when the thread's stack is set up)
 */
export const L = {
  // SEQ, STOP and the rest sit on separate cache lines (128 bytes apart): every event adds to SEQ
  // and reads STOP, from every thread.
  SEQ: 0,
  STOP: 32,
  PARKED_WAKE: 64,
  NEXT_PID: 65,
  SLOTS_USED: 66,
  LOCK: 67,
  FREE_COUNT: 68,
  TRACE_TOP: 69,
  /** Date.now() & 0x3fffffff when the main thread last finished a drain. */
  MAIN_DRAINED_AT: 70,
  /** Drains finished (notified): a thread waiting on its backlog waits on this. */
  DRAINS: 71,
  /** A thread waits for the main thread's drain when it has this many chunks unread... */
  BACKLOG_CHUNKS: 16,
  /** ...and the main thread drained within this many ms (else it is blocked: no wait). */
  DRAIN_FRESH_MS: 20,
  FREE_LIST: 96,
  FREE_MAX: 480,
  SLOT_BASE: 608,
  SLOT_WORDS: 16,
  MAX_SLOTS: 256,
  // slot fields
  HEAD: 0,
  STATE: 1,
  PID: 2,
  START: 3,
  PTHREAD: 4,
  STACK_LO: 5,
  STACK_HI: 6,
  SP: 8,
  PARKED: 9,
  /** Chunks of this slot the main thread has read to their end (backlog = taken - read). */
  READ_CHUNKS: 10,
  // slot states
  IDLE: 0,
  RUNNING: 1,
  // chunks
  CHUNK_HEADER_WORDS: 4,
  REC_WORDS: 6,
  CAP: 2730,
  // record kinds
  ALLOC: 1,
  FREE: 2,
  REALLOC: 3,
  /** A thread starts: a = its stack block (lowest address), b = its pthread struct. */
  THREAD: 4,
  /** Raw wasm frames a worker records per trace (hidden allocator frames and ours included). */
  MAX_RAW_FRAMES: 40,
} as const;

/** Bytes of one log chunk: header plus CAP records (64 KiB). */
export const CHUNK_BYTES = (L.CHUNK_HEADER_WORDS + L.CAP * L.REC_WORDS) * 4;
/** Words of the control block. */
export const CONTROL_WORDS = L.SLOT_BASE + L.MAX_SLOTS * L.SLOT_WORDS;
/** Words of the trace store (4 MiB: some 50 000 distinct worker call paths). */
export const TRACE_WORDS = 1 << 20;

/** What the main thread hands each worker with the glue's 'load' message (field `kmemleak`). */
export interface WorkerConfig {
  control: SharedArrayBuffer;
  traces: SharedArrayBuffer;
  /** The original pthread worker script (absolute path in Node, absolute URL in a browser). */
  worker: string;
  hookModule: string;
  hooks: string[];
  /** The annotation import module: workers get no-op imports for it (see collector.ts). */
  annotationModule: string;
  /** Rewritten module's export names: stack pointer global, unwrapped malloc. */
  stackPointer: string | null;
  rawMalloc: string;
  /** Frames kept per trace; 0 = stacks off (no capture). */
  depth: number;
}
