/**
 * The client side of the control socket (protocol.ts): sends commands to a running program's
 * control file and collects the answers. Used by `kmemleak ctl` and by tests.
 *
 * Invariants: every failure is an Error with a one-line message fit for the user (nothing
 * listening, not a socket, peer closed early, timeout); the connection is always closed.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { AnswerParser, type Answer } from './protocol.js';

export interface RequestOptions {
  /** Give up after this many milliseconds (default 30000: a scan of a large heap takes a while). */
  timeoutMs?: number;
}

/**
 * Sends each command (one line each; '' = read) over one connection and resolves with one answer
 * per command, in order.
 */
export function controlRequest(path: string, cmds: string[], opts: RequestOptions = {}): Promise<Answer[]> {
  for (const c of cmds) {
    if (c.includes('\n')) return Promise.reject(new Error('a control command cannot contain a newline'));
  }
  const want = cmds.length;
  return new Promise((resolve, reject) => {
    const parser = new AnswerParser();
    const answers: Answer[] = [];
    let settled = false;
    const sock = net.connect(path);
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(answers);
    };
    const timer = setTimeout(
      () => finish(new Error(`no answer from the control file at ${path} within ${opts.timeoutMs ?? 30000} ms`)),
      opts.timeoutMs ?? 30000,
    );
    sock.on('connect', () => {
      // A lone read is sent as an empty connection; otherwise one line per command, then end.
      const body = want === 1 && cmds[0] === '' ? '' : cmds.map((c) => c + '\n').join('');
      sock.end(body);
    });
    sock.on('data', (chunk: Buffer) => {
      try {
        for (const a of parser.push(chunk)) answers.push(a);
      } catch (e) {
        finish(e as Error);
        return;
      }
      if (answers.length >= want) finish(null);
    });
    sock.on('end', () => {
      if (answers.length >= want) finish(null);
      else finish(new Error(`the control file at ${path} closed the connection before answering`));
    });
    sock.on('error', (e: NodeJS.ErrnoException) => finish(new Error(connectError(path, e))));
  });
}

/** One command, one answer. */
export async function controlCommand(path: string, cmd: string, opts: RequestOptions = {}): Promise<Answer> {
  const [a] = await controlRequest(path, [cmd], opts);
  if (!a) throw new Error(`no answer from the control file at ${path}`);
  return a;
}

function connectError(path: string, e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return `nothing listens at ${path}: no such socket (is the program running with --control ${path}?)`;
    case 'ECONNREFUSED':
      // Linux refuses a connection to any file that is not a listening socket.
      return isSocket(path)
        ? `nothing listens at ${path}: the program that served it has exited`
        : `${path} is not a socket (kmemleak run --control PATH makes one)`;
    case 'ENOTSOCK':
      return `${path} is not a socket`;
    case 'EACCES':
      return `${path}: permission denied`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `the control file at ${path} closed the connection`;
    default:
      return `cannot reach the control file at ${path}: ${e.code ?? e.message}`;
  }
}

function isSocket(path: string): boolean {
  try {
    return fs.lstatSync(path).isSocket();
  } catch {
    return false;
  }
}
