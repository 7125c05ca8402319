/**
 * The control file for programs that hold the JS thread: a WASI command under `kmemleak run`
 * runs `_start` synchronously from start to exit, so a socket served on that thread would not
 * answer until the program ended. Here a worker thread owns the socket and relays bytes; the
 * program's thread answers either from its event loop (when idle) or from poll(), which the
 * runtime calls from its allocation hooks (one Atomics.load when nothing is pending).
 *
 * Split of work: the worker only accepts connections and moves bytes (its code is a small,
 * self-contained string); framing, ordering and the handler run on the program's thread with the
 * same code as the in-thread server (protocol.ts), so the engine is only touched there.
 *
 * Invariants:
 * - poll() never blocks and allocates nothing when no request is pending.
 * - A command reaching the program while wasm runs is answered at the next hook or blocking WASI
 *   call (the worker bumps the `wake` word, which a program waiting in such a call waits on); if
 *   none comes within busyTimeoutMs (the program computes without allocating), the worker
 *   answers an error itself and closes that connection; a late answer is dropped.
 * - A read never waits for the program (`kmemleak ctl PATH`, a connection that sends nothing):
 *   once the program has published a snapshot (publish(), after each scan and command), a read
 *   the program has not answered within readTimeoutMs is answered by the worker from it, as
 *   /sys/kernel/debug/kmemleak answers from the last scan's result.
 * - The worker and its port never keep the process alive; the socket file is removed at close,
 *   at process exit, and on signals nobody else handles (same rules as server.ts).
 * - close() delivers the answers already given before the worker stops (messages are ordered);
 *   a process that exits without close() may cut off the last answers.
 * - A handler that answers with a Promise is completed on the event loop; poll() does not wait.
 */
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { LineSplitter, encodeAnswer, type Answer } from './protocol.js';
import type { ControlHandler } from './server.js';
import { unlinkOwnSocket } from './socket-file.js';

export interface ThreadedControlServer {
  readonly path: string;
  /** Answers pending requests now. Cheap; call it from allocation hooks. */
  poll(): void;
  /** The report as of now: what a read gets when the program cannot answer it in time. */
  publish(report: string): void;
  close(): Promise<void>;
}

export interface ThreadedOptions {
  /** How long a request may wait for the program to reach a hook. Default 10000 ms. */
  busyTimeoutMs?: number;
  /** How long a read waits for a fresh answer before the published snapshot answers it. Default 50 ms. */
  readTimeoutMs?: number;
  /** A shared wake word ([0] a sequence): bumped and notified whenever a command arrives. */
  wake?: Int32Array;
  cleanupOnSignal?: boolean;
}

/** Messages worker -> program: accepted bytes; program -> worker: bytes to send, end, close. */
type FromWorker =
  | { t: 'listening'; ino: number }
  | { t: 'fail'; why: string }
  | { t: 'data'; c: number; b: Uint8Array }
  | { t: 'end'; c: number }
  | { t: 'gone'; c: number };
type ToWorker = { t: 'write'; c: number; b: Uint8Array } | { t: 'end'; c: number } | { t: 'close' } |
  { t: 'snapshot'; b: Uint8Array };

// The worker: no imports of ours, so it runs from a string in both tsc output and test runners.
const WORKER_SOURCE = String.raw`
const net = require('node:net');
const fs = require('node:fs');
const { workerData } = require('node:worker_threads');
const { path, port, flag, busyMs, readMs, wakeBuf } = workerData;
const flags = new Int32Array(flag);
const wake = wakeBuf ? new Int32Array(wakeBuf) : null;
const conns = new Map();
let next = 1;
let snapshot = null;
function send(m, transfer) {
  port.postMessage(m, transfer);
  Atomics.add(flags, 0, 1);
  if (wake) { Atomics.add(wake, 0, 1); Atomics.notify(wake, 0); }
}
function probe(p) {
  return new Promise((res) => {
    const c = net.connect(p);
    c.once('connect', () => { c.destroy(); res(true); });
    c.once('error', () => res(false));
  });
}
async function start() {
  let st = null;
  try { st = fs.lstatSync(path); } catch {}
  if (st) {
    if (!st.isSocket()) return fail('a file that is not a socket is already there');
    if (await probe(path)) return fail('another program already serves it');
    try { fs.unlinkSync(path); } catch (e) { return fail('cannot remove the stale socket (' + (e.code || 'error') + ')'); }
  }
  const server = net.createServer({ allowHalfOpen: true }, (sock) => {
    const c = next++;
    const conn = { sock, waiting: 0, timer: null, dead: false, data: false };
    conns.set(c, conn);
    const arm = () => {
      if (conn.timer || conn.dead) return;
      conn.timer = setTimeout(() => {
        conn.dead = true;
        const body = Buffer.from('the program did not reach a point where kmemleak can answer within ' + busyMs + ' ms (it runs wasm code that does not allocate, waits in a system call, or kmemleak is scanning or reporting at exit); try again');
        sock.end(Buffer.concat([Buffer.from('error ' + body.length + '\n'), body]));
      }, busyMs);
    };
    // A lone read: answered from the snapshot unless the program answers it within readMs.
    const armRead = () => {
      if (snapshot === null || conn.timer || conn.dead) return arm();
      conn.timer = setTimeout(() => {
        conn.dead = true;
        sock.end(Buffer.concat([Buffer.from('ok ' + snapshot.length + '\n'), snapshot]));
      }, readMs);
    };
    sock.on('data', (b) => { conn.data = true; arm(); const u = new Uint8Array(b); send({ t: 'data', c, b: u }, [u.buffer]); });
    sock.on('end', () => { if (conn.data) arm(); else armRead(); send({ t: 'end', c }); });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => { clearTimeout(conn.timer); conns.delete(c); send({ t: 'gone', c }); });
  });
  server.once('error', (e) => fail(e.code === 'EACCES' ? 'permission denied' : e.code === 'EADDRINUSE' ? 'address in use' : e.code === 'EINVAL' ? 'path too long for a Unix socket' : String(e.code || e.message)));
  server.listen(path, () => {
    let ino = -1;
    try { ino = fs.lstatSync(path).ino; } catch {}
    port.postMessage({ t: 'listening', ino });
  });
  port.on('message', (m) => {
    if (m.t === 'close') { for (const k of conns.values()) k.sock.destroy(); server.close(() => process.exit(0)); return; }
    if (m.t === 'snapshot') { snapshot = Buffer.from(m.b); return; }
    const conn = conns.get(m.c);
    if (!conn || conn.dead) return;
    clearTimeout(conn.timer); conn.timer = null;
    if (m.t === 'write') conn.sock.write(Buffer.from(m.b));
    else if (m.t === 'end') conn.sock.end();
  });
}
function fail(why) { port.postMessage({ t: 'fail', why }); }
start();
`;

interface Conn {
  lines: LineSplitter;
  /** Answers not yet sent, in request order; null = not ready yet. */
  queue: Array<Answer | null>;
  ended: boolean;
}

class Threaded implements ThreadedControlServer {
  private readonly flags: Int32Array;
  private readonly conns = new Map<number, Conn>();
  private closed = false;
  ino = -1;

  constructor(
    readonly path: string,
    private readonly handler: ControlHandler,
    private readonly worker: Worker,
    private readonly port: MessagePort,
    flag: SharedArrayBuffer,
  ) {
    this.flags = new Int32Array(flag);
  }

  poll(): void {
    if (Atomics.load(this.flags, 0) === 0) return;
    for (;;) {
      const got = receiveMessageOnPort(this.port);
      if (!got) break;
      Atomics.sub(this.flags, 0, 1);
      this.onMessage(got.message as FromWorker);
    }
  }

  /** Event-loop delivery (the program is idle): same path as poll(). */
  onMessage(m: FromWorker): void {
    if (m.t === 'listening' || m.t === 'fail') return;
    if (m.t === 'gone') {
      this.conns.delete(m.c);
      return;
    }
    let conn = this.conns.get(m.c);
    if (!conn) {
      conn = { lines: new LineSplitter(), queue: [], ended: false };
      this.conns.set(m.c, conn);
    }
    if (m.t === 'data') {
      const lines = conn.lines.push(Buffer.from(m.b.buffer, m.b.byteOffset, m.b.byteLength));
      if (lines === null) {
        conn.queue.push({ ok: false, text: 'command too long' });
        conn.ended = true;
      } else {
        for (const l of lines) this.ask(m.c, conn, l);
      }
    } else if (m.t === 'end') {
      const last = conn.lines.end();
      if (last !== null) this.ask(m.c, conn, last);
      conn.ended = true;
    }
    this.flush(m.c, conn);
  }

  private ask(c: number, conn: Conn, cmd: string): void {
    const slot = conn.queue.length;
    conn.queue.push(null);
    let a: Answer | Promise<Answer>;
    try {
      a = this.closed ? { ok: false, text: 'kmemleak control file closed' } : this.handler(cmd);
    } catch (e) {
      a = { ok: false, text: oneLine(e) };
    }
    if (a instanceof Promise) {
      a.catch((e: unknown) => ({ ok: false, text: oneLine(e) })).then((v) => {
        conn.queue[slot] = v;
        this.flush(c, conn);
      });
    } else {
      conn.queue[slot] = a;
    }
  }

  private flush(c: number, conn: Conn): void {
    while (conn.queue.length !== 0 && conn.queue[0] !== null) {
      const a = conn.queue.shift()!;
      const b = new Uint8Array(encodeAnswer(a));
      this.send({ t: 'write', c, b });
    }
    if (conn.ended && conn.queue.length === 0) {
      this.send({ t: 'end', c });
      this.conns.delete(c);
    }
  }

  private send(m: ToWorker): void {
    if (!this.closed || m.t === 'close') this.port.postMessage(m);
  }

  publish(report: string): void {
    const b = new Uint8Array(Buffer.from(report, 'utf8'));
    this.send({ t: 'snapshot', b });
  }

  unlinkSync(): void {
    unlinkOwnSocket(this.path, this.ino);
    this.ino = -1;
  }

  closeSync(): void {
    if (this.closed) return;
    this.send({ t: 'close' });
    this.closed = true;
    live.delete(this);
    this.unlinkSync();
    uninstallHooks(this);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    this.closeSync();
    // Wait (at most 2 s) for the worker to send what it was given and exit; hold the event loop
    // open meanwhile, or a program ending right after close() would not wait for it.
    this.worker.ref();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((r) => (timer = setTimeout(r, 2000)));
    await Promise.race([exited, timeout]);
    clearTimeout(timer);
    await this.worker.terminate();
    this.port.close();
  }

}

const live = new Set<Threaded>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const signalUsers = new Set<Threaded>();
let exitHook = false;

function onSignal(sig: NodeJS.Signals): void {
  if (process.listenerCount(sig) !== 1) return;
  for (const s of [...live]) s.closeSync();
  for (const x of SIGNALS) process.off(x, onSignal);
  signalUsers.clear();
  process.kill(process.pid, sig);
}

function installHooks(s: Threaded, signals: boolean): void {
  live.add(s);
  if (!exitHook) {
    process.on('exit', () => {
      for (const x of live) x.unlinkSync();
    });
    exitHook = true;
  }
  if (signals) {
    if (signalUsers.size === 0) for (const x of SIGNALS) process.on(x, onSignal);
    signalUsers.add(s);
  }
}

function uninstallHooks(s: Threaded): void {
  if (signalUsers.delete(s) && signalUsers.size === 0) for (const x of SIGNALS) process.off(x, onSignal);
}

function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0] ?? 'error';
}

/**
 * Starts the control file at path on a worker thread. Rejects with a one-line Error when the
 * path cannot be used. Call poll() from the program's hooks while it runs.
 */
export async function serveControlThreaded(
  path: string,
  handler: ControlHandler,
  opts: ThreadedOptions = {},
): Promise<ThreadedControlServer> {
  if (!fs.existsSync(dirname(path))) throw new Error(`control file ${path}: cannot listen (its directory does not exist)`);
  const flag = new SharedArrayBuffer(4);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      path, port: port2, flag, busyMs: opts.busyTimeoutMs ?? 10_000, readMs: opts.readTimeoutMs ?? 50,
      wakeBuf: opts.wake?.buffer ?? null,
    },
    transferList: [port2],
    // true: not piped into this process's stdout/stderr, whose streams would set
    // O_NONBLOCK on descriptors the program shares (its writes would fail with EAGAIN).
    stdout: true,
    stderr: true,
  });
  const s = new Threaded(path, handler, worker, port1, flag);
  const flags = new Int32Array(flag);
  let resolveFirst: (m: FromWorker) => void = () => {};
  const first = new Promise<FromWorker>((resolve, reject) => {
    resolveFirst = resolve;
    worker.once('error', (e) => reject(new Error(`control file ${path}: ${oneLine(e)}`)));
  });
  // One listener for the whole life of the port, so no message falls between two listeners.
  port1.on('message', (m: FromWorker) => {
    if (m.t === 'listening' || m.t === 'fail') return resolveFirst(m);
    // Delivered on the event loop (the program is idle): the worker counted it, so uncount.
    Atomics.sub(flags, 0, 1);
    s.onMessage(m);
  });
  const m = await first;
  if (m.t === 'fail') {
    port1.close();
    await worker.terminate();
    const plain = /^(a file|another|cannot remove)/.test(m.why);
    throw new Error(`control file ${path}: ${plain ? m.why : `cannot listen (${m.why})`}`);
  }
  if (m.t === 'listening') s.ino = m.ino;
  port1.unref();
  worker.unref();
  installHooks(s, opts.cleanupOnSignal ?? true);
  return s;
}
