/**
 * Helpers for the live tests: `kmemleak run` as a child process (the CLI bundled from src/ by
 * test/cli/helpers.ts) on test/fixtures/live/waits.wasm, with its stdin a socket (Node's 'pipe'
 * is a socketpair), a real pipe (through `cat`), or nothing; its output collected as it comes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlCommand } from '../../src/control/client.js';
import type { Answer } from '../../src/control/protocol.js';

export const WAITS = fileURLToPath(new URL('../fixtures/live/waits.wasm', import.meta.url));

export interface Running {
  child: ChildProcess;
  sock: string;
  out(): string;
  err(): string;
  /** Resolves with the exit status once the child has exited and its output is complete. */
  exited: Promise<number | null>;
  /** Resolves once stdout contains text. */
  stdoutHas(text: string, timeoutMs?: number): Promise<void>;
}

export type StdinKind = 'socket' | 'pipe' | 'none';

/** Starts `kmemleak run --control SOCK OPTS waits.wasm ARGS`; resolves once the socket exists. */
export async function startWaits(entry: string, opts: string[], args: string[], stdin: StdinKind = 'none'): Promise<Running> {
  const sock = join(mkdtempSync(join(tmpdir(), 'kml-live-')), 'c.sock');
  const argv = [entry, 'run', '--control', sock, ...opts, WAITS, ...args];
  const child = stdin === 'pipe'
    // A real pipe (a FIFO): `cat` copies the test's socket into it.
    ? spawn('sh', ['-c', 'cat | exec "$0" "$@"', process.execPath, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(process.execPath, argv, { stdio: [stdin === 'socket' ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (d) => { out += d; for (const w of waiters.splice(0)) w(); });
  child.stderr!.on('data', (d) => { err += d; });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 25));
  if (!existsSync(sock)) throw new Error(`no control socket after 5 s; stderr: ${err}`);
  const stdoutHas = (text: string, timeoutMs = 10_000): Promise<void> => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`stdout never had ${JSON.stringify(text)}: ${JSON.stringify(out)}`)), timeoutMs);
    const check = () => (out.includes(text) ? (clearTimeout(t), resolve()) : waiters.push(check));
    check();
  });
  return { child, sock, out: () => out, err: () => err, exited, stdoutHas };
}

/** One control command, and how long its answer took (ms). */
export async function timed(sock: string, cmd: string): Promise<{ answer: Answer; ms: number }> {
  const t0 = performance.now();
  const answer = await controlCommand(sock, cmd, { timeoutMs: 20_000 });
  return { answer, ms: performance.now() - t0 };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

