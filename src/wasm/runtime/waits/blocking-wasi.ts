/**
 * Why: blocking WASI calls are kmemleak's safe points while a program waits (SPEC §4 --control,
 * --scan). A server, REPL or filter spends its life in poll_oneoff (sleep, poll) or fd_read on a
 * pipe, terminal or socket; inside Node's WASI those calls block the JS thread, so neither the
 * control file nor the automatic scans could run until the program allocated again. Here those
 * imports are wrapped so the thread waits on a shared wake word instead (Atomics.wait, with the
 * program's own timeout), which the control file's worker bumps when a command arrives and the
 * stdio helper (stdio-helper.ts) bumps when the call it made for the program completes; between
 * wake-ups the thread answers commands and runs due scans (SafePoint.serve).
 *
 * What changes for the program: nothing it can observe. A sleep ends at its own deadline (the
 * clock is re-read after every wake-up); a read reads the same bytes with the same length on the
 * same descriptor, made by the helper while this thread waits; results and errno are the call's.
 *
 * Which calls: poll_oneoff whose subscriptions are all clocks (realtime or monotonic, relative or
 * absolute) or all on standard streams that can block (pipe, socket, terminal) plus clocks;
 * fd_read on such a standard stream; sched_yield. Anything else goes to Node's WASI unchanged
 * (files never block; other descriptors are not known here). Sockets: Node 20's WASI offers no
 * way to hand a program a socket except as a standard stream; its sock_accept and sock_recv
 * crash the process (SIGSEGV, Node 20.20.2), so they are left alone.
 *
 * Streaming input: a read that filled a request of STREAM_MIN bytes or more means more input was
 * probably waiting, so the next read on that stream goes to Node's WASI directly (no thread hop:
 * a filter reading a pipe in 1 KiB reads would otherwise pay ~40 us a read); the first read that
 * comes back short goes through the helper again. The cost: a direct read that does block (the
 * input ended exactly at a buffer's end) is not a safe point.
 *
 * Invariants: no wrapper throws into wasm; serve() runs only on this thread; every path that
 * waits re-checks its condition after reading the wake sequence, so no wake-up is lost.
 */
import * as fs from 'node:fs';
import { isatty } from 'node:tty';
import { HELPER_BYTES, HELPER_MAX_SUBS, StdioHelper } from './stdio-helper.js';

export interface SafePoint {
  /** Answers pending control commands and runs a due automatic scan; cheap when nothing is due. */
  serve(): void;
  /** Milliseconds until the next automatic scan is due (Infinity: none planned). */
  msUntilScan(): number;
}

type WasiFn = (...args: number[]) => number;

const SUB_SIZE = 48;
const EVENT_SIZE = 32;
const TAG_CLOCK = 0;
const TAG_FD_READ = 1;
const TAG_FD_WRITE = 2;
const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const SUBCLOCK_ABSTIME = 1;
/** A full read of at least this many bytes switches the stream to direct reads (see above). */
export const STREAM_MIN = 512;

/** Whether reading or polling host descriptor fd can block: a pipe, a socket or a terminal. */
export function canBlock(fd: number): boolean {
  try {
    const st = fs.fstatSync(fd);
    return st.isFIFO() || st.isSocket() || (st.isCharacterDevice() && isatty(fd));
  } catch {
    return false;
  }
}

export class BlockingWaits {
  /** The wake word: [0] a sequence any thread bumps (then notifies) to wake a wait here. */
  readonly wake = new Int32Array(new SharedArrayBuffer(4));
  private helper: StdioHelper | null = null;
  /** Per standard stream: 1 can block, 0 cannot, -1 not looked at yet (canBlock at first use). */
  private readonly blocks = new Int8Array([-1, -1, -1]);
  private readonly streaming = new Uint8Array(3);
  /** Waits that went through here (for tests and the ARCHITECTURE figures). */
  waits = 0;

  constructor(
    private readonly safe: SafePoint,
    private readonly memory: () => ArrayBuffer | null,
    private readonly stdio: [number, number, number],
  ) {
  }

  /**
   * Whether the program's standard stream fd (0-2) can block, looked at on the first call that
   * asks: a program that never reads or polls its streams pays no fstat, and node:tty is loaded
   * only for a character device.
   */
  private streamCanBlock(fd: number): boolean {
    if (this.blocks[fd]! < 0) this.blocks[fd] = canBlock(this.stdio[fd]!) ? 1 : 0;
    return this.blocks[fd] === 1;
  }

  /**
   * The helper thread, started by the first call that needs it (that call waits for it to boot,
   * serving kmemleak meanwhile, as for any helper call). Not at start: a thread costs a run
   * ~0.1 s of CPU and ~9 MB, which most programs, which never wait for input, would pay for
   * nothing (bench/RESULTS.md, "Fixed costs").
   */
  private stdioHelper(): StdioHelper {
    this.helper ??= new StdioHelper(this.stdio, this.wake, this.waitUntil);
    return this.helper;
  }

  private serve(): void {
    try {
      this.safe.serve();
    } catch {
      /* kmemleak's own failure must not become the program's */
    }
  }

  private readonly waitUntil = (done: () => boolean): void => {
    this.waits++;
    for (;;) {
      const seq = Atomics.load(this.wake, 0);
      if (done()) return;
      this.serve();
      if (done()) return;
      const ms = Math.max(1, this.safe.msUntilScan());
      Atomics.wait(this.wake, 0, seq, ms === Infinity ? undefined : ms);
    }
  };

  /** Sleeps until the monotonic clock reaches deadline (ns), serving kmemleak meanwhile. */
  private sleepUntil(deadline: bigint): void {
    this.waits++;
    for (;;) {
      const seq = Atomics.load(this.wake, 0);
      this.serve();
      const left = deadline - process.hrtime.bigint();
      if (left <= 0n) return;
      const ms = Math.min(Number(left) / 1e6, Math.max(1, this.safe.msUntilScan()));
      Atomics.wait(this.wake, 0, seq, ms);
    }
  }

  /** The WASI imports with the blocking calls wrapped; everything else is passed as is. */
  wrap(imports: Record<string, unknown>): Record<string, unknown> {
    const out = { ...imports };
    const poll = imports['poll_oneoff'] as WasiFn | undefined;
    const read = imports['fd_read'] as WasiFn | undefined;
    const yieldFn = imports['sched_yield'] as WasiFn | undefined;
    if (poll) out['poll_oneoff'] = (i: number, o: number, n: number, ne: number) => this.pollOneoff(poll, i, o, n, ne);
    if (read) out['fd_read'] = (fd: number, iovs: number, len: number, nread: number) => this.fdRead(read, fd, iovs, len, nread);
    if (yieldFn) out['sched_yield'] = () => {
      this.serve();
      return yieldFn();
    };
    return out;
  }

  private pollOneoff(original: WasiFn, inPtr: number, outPtr: number, nsubs: number, nevents: number): number {
    const buf = this.memory();
    inPtr >>>= 0; outPtr >>>= 0; nevents >>>= 0;
    if (!buf || nsubs <= 0 || inPtr + nsubs * SUB_SIZE > buf.byteLength || outPtr + nsubs * EVENT_SIZE > buf.byteLength ||
      nevents + 4 > buf.byteLength) return original(inPtr, outPtr, nsubs, nevents);
    const dv = new DataView(buf);
    let clocks = 0;
    let streams = 0;
    for (let i = 0; i < nsubs; i++) {
      const s = inPtr + i * SUB_SIZE;
      const tag = dv.getUint8(s + 8);
      if (tag === TAG_CLOCK) {
        const id = dv.getUint32(s + 16, true);
        if (id !== CLOCK_REALTIME && id !== CLOCK_MONOTONIC) return original(inPtr, outPtr, nsubs, nevents);
        clocks++;
      } else if (tag === TAG_FD_READ || tag === TAG_FD_WRITE) {
        const fd = dv.getUint32(s + 16, true);
        if (fd > 2 || !this.streamCanBlock(fd)) return original(inPtr, outPtr, nsubs, nevents);
        streams++;
      } else {
        return original(inPtr, outPtr, nsubs, nevents);
      }
    }
    if (streams === 0) return this.sleep(original, dv, inPtr, outPtr, nsubs, nevents);
    if (nsubs > HELPER_MAX_SUBS) return original(inPtr, outPtr, nsubs, nevents);
    const h = this.stdioHelper();
    h.data.set(new Uint8Array(buf, inPtr, nsubs * SUB_SIZE), 0);
    const r = h.poll(nsubs);
    if (r.errno !== 0) return r.errno;
    // The program's memory may have grown meanwhile (another thread cannot, but be exact).
    const now = this.memory()!;
    new Uint8Array(now, outPtr, r.value * EVENT_SIZE).set(h.data.subarray(nsubs * SUB_SIZE, nsubs * SUB_SIZE + r.value * EVENT_SIZE));
    new DataView(now).setUint32(nevents, r.value, true);
    return 0;
  }

  /** Clock subscriptions only: wait for the earliest deadline here, then report that one. */
  private sleep(original: WasiFn, dv: DataView, inPtr: number, outPtr: number, nsubs: number, nevents: number): number {
    const mono = process.hrtime.bigint();
    const realNs = BigInt(Date.now()) * 1_000_000n;
    let first = -1;
    let earliest = 0n;
    for (let i = 0; i < nsubs; i++) {
      const s = inPtr + i * SUB_SIZE;
      const id = dv.getUint32(s + 16, true);
      const timeout = dv.getBigUint64(s + 24, true);
      const abs = (dv.getUint16(s + 40, true) & SUBCLOCK_ABSTIME) !== 0;
      // As a monotonic deadline: an absolute realtime one is moved by the clocks' difference now.
      const deadline = !abs ? mono + timeout : id === CLOCK_MONOTONIC ? timeout : mono + (timeout - realNs);
      if (first < 0 || deadline < earliest) {
        first = i;
        earliest = deadline;
      }
    }
    // Already due (sleep(0), a past deadline): Node's own answer, at once.
    if (earliest <= mono) return original(inPtr, outPtr, nsubs, nevents);
    this.sleepUntil(earliest);
    const now = new DataView(this.memory()!);
    const e = outPtr;
    now.setBigUint64(e, dv.getBigUint64(inPtr + first * SUB_SIZE, true), true);   // userdata
    now.setUint16(e + 8, 0, true);                                                  // error
    now.setUint8(e + 10, TAG_CLOCK);                                                // type
    for (let b = e + 11; b < e + EVENT_SIZE; b++) now.setUint8(b, 0);
    now.setUint32(nevents, 1, true);
    return 0;
  }

  private fdRead(original: WasiFn, fd: number, iovs: number, iovsLen: number, nread: number): number {
    if (fd < 0 || fd > 2 || !this.streamCanBlock(fd)) return original(fd, iovs, iovsLen, nread);
    const buf = this.memory();
    iovs >>>= 0; nread >>>= 0;
    if (!buf || iovsLen <= 0 || iovs + iovsLen * 8 > buf.byteLength || nread + 4 > buf.byteLength) return original(fd, iovs, iovsLen, nread);
    let dv = new DataView(buf);
    let total = 0;
    for (let i = 0; i < iovsLen; i++) {
      const p = dv.getUint32(iovs + i * 8, true);
      const l = dv.getUint32(iovs + i * 8 + 4, true);
      if (p + l > buf.byteLength) return original(fd, iovs, iovsLen, nread);
      total += l;
    }
    if (total === 0) return original(fd, iovs, iovsLen, nread);
    if (this.streaming[fd]) {
      const r = original(fd, iovs, iovsLen, nread);
      const n = r === 0 ? new DataView(this.memory()!).getUint32(nread, true) : 0;
      this.streaming[fd] = r === 0 && n === total && total >= STREAM_MIN ? 1 : 0;
      return r;
    }
    const len = Math.min(total, HELPER_BYTES);
    const h = this.stdioHelper();
    const r = h.read(fd, len);
    if (r.errno !== 0) return r.errno;
    const n = r.value;
    const mem = this.memory()!;
    dv = new DataView(mem);
    const bytes = new Uint8Array(mem);
    let done = 0;
    for (let i = 0; i < iovsLen && done < n; i++) {
      const p = dv.getUint32(iovs + i * 8, true);
      const l = Math.min(dv.getUint32(iovs + i * 8 + 4, true), n - done);
      bytes.set(h.data.subarray(done, done + l), p);
      done += l;
    }
    dv.setUint32(nread, n, true);
    this.streaming[fd] = n === len && len >= STREAM_MIN ? 1 : 0;
    return 0;
  }

  async close(): Promise<void> {
    if (this.helper) await this.helper.close();
    this.helper = null;
  }
}
