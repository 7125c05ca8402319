/**
 * Serves kmemleak's control file on a Unix socket while a program runs (`--control PATH`), the
 * way /sys/kernel/debug/kmemleak serves `echo scan >` and `cat`. Wire format: protocol.ts.
 *
 * Invariants:
 * - Nothing here can crash the program under test: a handler that throws becomes an `error`
 *   answer, a broken connection is dropped, a bad request gets an error answer.
 * - The socket never keeps the process alive (server and connections are unref'd), and the socket
 *   file is removed at close and at process exit (and on SIGINT/SIGTERM/SIGHUP when nothing else
 *   handles those signals). Only a socket file this server created is removed (checked by inode).
 * - Commands are handled one at a time, in arrival order, across all connections: the engine is
 *   not re-entrant.
 * - A stale socket left by a dead process is replaced; a live one, or any other kind of file at
 *   PATH, is an error.
 */
import * as net from 'node:net';
import * as fs from 'node:fs';
import { dirname as pathDirname } from 'node:path';
import { LineSplitter, encodeAnswer, type Answer } from './protocol.js';
import type { ControlHandler } from './handler.js';
import { unlinkOwnSocket } from './socket-file.js';

export { engineHandler, type ControlHandler, type ControlTarget } from './handler.js';

export interface ControlServer {
  readonly path: string;
  /** Stops serving and removes the socket file. Idempotent. */
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Remove the socket on SIGINT/SIGTERM/SIGHUP when no other listener handles them. Default true. */
  cleanupOnSignal?: boolean;
}

const live = new Set<ServerImpl>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let exitHookInstalled = false;

function onExit(): void {
  for (const s of live) s.unlinkSync();
}

function onSignal(sig: NodeJS.Signals): void {
  // Only act when we are the sole listener: then the default action (death) is what the program
  // would have had without us, and we re-raise it after cleaning up.
  if (process.listenerCount(sig) !== 1) return;
  for (const s of [...live]) s.closeSync();
  uninstallSignalHooks();
  process.kill(process.pid, sig);
}

let signalHooks = 0;
function installSignalHooks(): void {
  if (signalHooks++ === 0) for (const s of SIGNALS) process.on(s, onSignal);
}
function uninstallSignalHooks(): void {
  if (signalHooks === 0) return;
  if (--signalHooks === 0) for (const s of SIGNALS) process.off(s, onSignal);
}

class ServerImpl implements ControlServer {
  private ino = -1;
  private closed = false;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly sockets = new Set<net.Socket>();
  readonly server: net.Server;

  constructor(
    readonly path: string,
    private readonly handler: ControlHandler,
    private readonly signals: boolean,
  ) {
    this.server = net.createServer({ allowHalfOpen: true }, (sock) => this.accept(sock));
    this.server.on('error', () => {
      /* after listening, errors only concern single connections */
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const fail = (e: NodeJS.ErrnoException) => reject(e);
      this.server.once('error', fail);
      this.server.listen(this.path, () => {
        this.server.off('error', fail);
        resolve();
      });
    });
    this.server.unref();
    try {
      this.ino = fs.lstatSync(this.path).ino;
    } catch {
      this.ino = -1;
    }
    live.add(this);
    if (!exitHookInstalled) {
      process.on('exit', onExit);
      exitHookInstalled = true;
    }
    if (this.signals) installSignalHooks();
  }

  private accept(sock: net.Socket): void {
    sock.unref();
    this.sockets.add(sock);
    const lines = new LineSplitter();
    // Answers are written in request order even when a handler answers asynchronously.
    let order: Promise<unknown> = Promise.resolve();
    const ask = (cmd: string) => {
      const answer = this.enqueue(cmd);
      order = order.then(() => answer).then((a) => {
        if (!sock.destroyed) sock.write(encodeAnswer(a));
      });
    };
    sock.on('data', (chunk: Buffer) => {
      const got = lines.push(chunk);
      if (got === null) {
        sock.removeAllListeners('data');
        order = order.then(() => {
          if (!sock.destroyed) sock.end(encodeAnswer({ ok: false, text: 'command too long' }));
        });
        return;
      }
      for (const cmd of got) ask(cmd);
    });
    sock.on('end', () => {
      const last = lines.end();
      if (last !== null) ask(last);
      order = order.then(() => {
        if (!sock.destroyed) sock.end();
      });
    });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.sockets.delete(sock));
  }

  private enqueue(cmd: string): Promise<Answer> {
    const run = async (): Promise<Answer> => {
      if (this.closed) return { ok: false, text: 'kmemleak control file closed' };
      try {
        return await this.handler(cmd);
      } catch (e) {
        return { ok: false, text: oneLine(e) };
      }
    };
    const p = this.chain.then(run, run);
    this.chain = p;
    return p;
  }

  unlinkSync(): void {
    unlinkOwnSocket(this.path, this.ino);
    this.ino = -1;
  }

  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    live.delete(this);
    for (const s of this.sockets) s.destroy();
    this.server.close();
    this.unlinkSync();
    if (this.signals) uninstallSignalHooks();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const done = new Promise<void>((resolve) => this.server.once('close', () => resolve()));
    this.closeSync();
    await done;
  }
}

function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0] ?? 'error';
}

/** True when something accepts connections at path. */
function probe(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/**
 * Starts serving the control file at path. Rejects with a one-line Error when the path cannot be
 * used (a live server there, a regular file, a missing directory, a path too long for a socket).
 */
export async function serveControl(
  path: string,
  handler: ControlHandler,
  opts: ServeOptions = {},
): Promise<ControlServer> {
  let st: fs.Stats | null = null;
  try {
    st = fs.lstatSync(path);
  } catch {
    st = null;
  }
  if (st) {
    if (!st.isSocket()) throw new Error(`control file ${path}: a file that is not a socket is already there`);
    if (await probe(path)) throw new Error(`control file ${path}: another program already serves it`);
    try {
      fs.unlinkSync(path);
    } catch (e) {
      throw new Error(`control file ${path}: cannot remove the stale socket (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  const dir = pathDirname(path);
  if (!fs.existsSync(dir)) throw new Error(`control file ${path}: cannot listen (its directory does not exist)`);
  const s = new ServerImpl(path, handler, opts.cleanupOnSignal ?? true);
  try {
    await s.listen();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'its directory does not exist'
      : code === 'EACCES' ? 'permission denied'
      : code === 'EADDRINUSE' ? 'address in use'
      : code === 'EINVAL' || code === 'ENAMETOOLONG' ? 'path too long for a Unix socket'
      : oneLine(e);
    throw new Error(`control file ${path}: cannot listen (${why})`);
  }
  return s;
}

/** For tests: the number of control servers currently open in this process. */
export function openControlServers(): number {
  return live.size;
}
