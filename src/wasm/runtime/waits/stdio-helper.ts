/**
 * Why: a WASI program that waits for input (fd_read on a pipe, terminal or socket; poll_oneoff on
 * its standard streams) blocks the JS thread inside Node's WASI, where no control command can be
 * answered and no automatic scan can run. Here a worker thread makes that same call instead, on
 * its own Node WASI instance whose standard streams are the same host descriptors, while the
 * program's thread waits on the wake word (blocking-wasi.ts) and serves kmemleak in between.
 *
 * Invariants:
 * - The worker makes exactly the call the program asked for (same descriptor, same length, same
 *   subscriptions), once, and only while the program's thread waits for its result: it never
 *   reads ahead, so no input is consumed that the program did not ask for, and none is reordered.
 * - One call at a time. Requests are a sequence number (ctl[SEQ]); each completion bumps
 *   ctl[DONE] and the shared wake word, so a thread waiting on the wake word sees it.
 * - The worker never keeps the process alive (unref'd) and prints nothing (Node's WASI warning is
 *   silenced in it); between calls it sleeps in Atomics.wait, which process exit interrupts.
 */
import { Worker } from 'node:worker_threads';

/** Bytes one helper call can move: a longer read is a short read (legal on pipes and sockets). */
export const HELPER_BYTES = 64 * 1024;
/** Subscriptions one helper poll can take (48 bytes each, events 32 bytes each, in the same area). */
export const HELPER_MAX_SUBS = 256;

const SEQ = 0, OP = 1, ARG0 = 2, ARG1 = 3, ERRNO = 6, VALUE = 7, DONE = 8;
const OP_READ = 1, OP_POLL = 2;

// The worker: self-contained (runs from a string in tsc output, bundles and test runners alike).
// Its wasm module forwards two exports to the WASI imports: read(fd, iovs, n, nread) and
// poll(in, out, nsubs, nevents); memory layout: [0] one iovec, [8] nread/nevents, [64..] data.
const WORKER_SOURCE = String.raw`
const { workerData } = require('node:worker_threads');
process.emitWarning = () => {};
const { WASI } = require('node:wasi');
const { ctl: ctlBuf, data: dataBuf, wake: wakeBuf, stdio } = workerData;
const ctl = new Int32Array(ctlBuf), wake = new Int32Array(wakeBuf), data = new Uint8Array(dataBuf);
function leb(n) { const o = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; o.push(b); } while (n); return o; }
function str(s) { return [...leb(s.length), ...Buffer.from(s)]; }
function sec(id, c) { return [id, ...leb(c.length), ...c]; }
const W = 'wasi_snapshot_preview1';
const body = (i) => [0, 0x20, 0, 0x20, 1, 0x20, 2, 0x20, 3, 0x10, i, 0x0b];
const bytes = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
  ...sec(1, [1, 0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 1, 0x7f]),
  ...sec(2, [2, ...str(W), ...str('fd_read'), 0, 0, ...str(W), ...str('poll_oneoff'), 0, 0]),
  ...sec(3, [2, 0, 0]),
  ...sec(5, [1, 0, 3]),
  ...sec(7, [3, ...str('memory'), 2, 0, ...str('read'), 0, 2, ...str('poll'), 0, 3]),
  ...sec(10, [2, ...leb(body(0).length), ...body(0), ...leb(body(1).length), ...body(1)])]);
const wasi = new WASI({ version: 'preview1', args: [], env: {}, stdin: stdio[0], stdout: stdio[1], stderr: stdio[2], returnOnExit: true });
const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { [W]: wasi.wasiImport });
wasi.initialize(inst);
const mem = new Uint8Array(inst.exports.memory.buffer);
const dv = new DataView(inst.exports.memory.buffer);
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${SEQ}, seen);
  seen = Atomics.load(ctl, ${SEQ});
  const op = ctl[${OP}], a = ctl[${ARG0}], b = ctl[${ARG1}];
  let r, n = 0;
  if (op === ${OP_READ}) {
    dv.setUint32(0, 64, true); dv.setUint32(4, b, true); dv.setUint32(8, 0, true);
    r = inst.exports.read(a, 0, 1, 8);
    n = dv.getUint32(8, true);
    if (r === 0) data.set(mem.subarray(64, 64 + n), 0);
  } else {
    mem.set(data.subarray(0, a * 48), 64);
    dv.setUint32(8, 0, true);
    r = inst.exports.poll(64, 64 + a * 48, a, 8);
    n = dv.getUint32(8, true);
    if (r === 0) data.set(mem.subarray(64 + a * 48, 64 + a * 48 + n * 32), a * 48);
  }
  ctl[${ERRNO}] = r;
  ctl[${VALUE}] = n;
  Atomics.add(ctl, ${DONE}, 1);
  Atomics.add(wake, 0, 1);
  Atomics.notify(wake, 0);
}`;

/** Waits until done() is true, serving kmemleak meanwhile (blocking-wasi.ts provides it). */
export type WaitUntil = (done: () => boolean) => void;

export interface HelperResult {
  errno: number;
  /** Bytes read, or events written. */
  value: number;
}

export class StdioHelper {
  private readonly ctl = new Int32Array(new SharedArrayBuffer(64));
  /** Read data, or subscriptions then events (poll). */
  readonly data = new Uint8Array(new SharedArrayBuffer(HELPER_BYTES));
  private readonly worker: Worker;
  private readonly result: HelperResult = { errno: 0, value: 0 };

  /** stdio: the host descriptors of the program's fds 0, 1, 2; wake: the shared wake word. */
  constructor(stdio: [number, number, number], wake: Int32Array, private readonly waitUntil: WaitUntil) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ctl: this.ctl.buffer, data: this.data.buffer, wake: wake.buffer, stdio },
      // true: not piped into this process's stdout/stderr, whose streams would set
      // O_NONBLOCK on descriptors the program shares (its writes would fail with EAGAIN).
      stdout: true,
      stderr: true,
    });
    this.worker.unref();
    // A worker that cannot start (it should not happen) makes every call fail with EIO (29)
    // rather than hang: the done counter moves on and the error is the answer.
    this.worker.on('error', () => {
      this.ctl[ERRNO] = 29;
      Atomics.add(this.ctl, DONE, 1);
      Atomics.add(wake, 0, 1);
      Atomics.notify(wake, 0);
    });
  }

  /** fd_read of up to len bytes (<= HELPER_BYTES) on fd into data[0..value). */
  read(fd: number, len: number): HelperResult {
    return this.call(OP_READ, fd, len);
  }

  /** poll_oneoff over nsubs subscriptions placed in data[0..48*nsubs); events follow them. */
  poll(nsubs: number): HelperResult {
    return this.call(OP_POLL, nsubs, 0);
  }

  private call(op: number, a: number, b: number): HelperResult {
    const ctl = this.ctl;
    const before = Atomics.load(ctl, DONE);
    ctl[OP] = op;
    ctl[ARG0] = a;
    ctl[ARG1] = b;
    Atomics.add(ctl, SEQ, 1);
    Atomics.notify(ctl, SEQ);
    this.waitUntil(() => Atomics.load(ctl, DONE) !== before);
    this.result.errno = ctl[ERRNO]!;
    this.result.value = ctl[VALUE]!;
    return this.result;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
