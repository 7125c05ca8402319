/**
 * The control file for `kmemleak run --control PATH`: what src/cli/run-command.ts's
 * `startControl` seam expects (path, session) -> stop. A WASI program holds the JS thread from
 * _start to exit, so the socket lives on a worker thread (threaded.ts) and the program's thread
 * answers from poll(); the runtime calls the poll function it is given (session.onPoll) from its
 * allocation hooks, next to its automatic-scan tick. A runtime that never polls still answers
 * once the program returns to the event loop, and clients get a clear "busy" error meanwhile.
 *
 * Commands reaching the program through poll() run inside a hook, with wasm frames live: a
 * `scan` there is like an automatic scan of `kmemleak run` (the minimum age protects objects
 * whose only pointer may sit in a wasm local).
 *
 * A program waiting in a blocking WASI call (a sleep, a read of its input) waits on the session's
 * wake word, which the worker bumps when a command arrives: it answers from there at once. Reads
 * never wait for the program: after each scan and command the runtime publishes the report
 * (session.onReport), and the worker answers a read from it when the program is busy.
 *
 * Invariant: the returned stop() closes the socket and removes its file; it is idempotent.
 */
import { engineHandler } from './handler.js';
import { serveControlThreaded, type ThreadedOptions } from './threaded.js';

/** What `kmemleak run` hands the control file (src/wasm/runtime/run.ts's RunSession). */
export interface ControlSession {
  write(cmd: string): string;
  read(): string;
  /** Optional: write() with the command's output, which becomes the answer's body. */
  control?(cmd: string): { error: string | null; output: string };
  /** Optional: the runtime calls the function registered here from its hooks. */
  onPoll?(poll: () => void): void;
  /** Optional: the wake word a program waiting in a blocking call waits on. */
  readonly wake?: Int32Array;
  /** Optional: the runtime calls the function registered here after each scan and command. */
  onReport?(fn: () => void): void;
}

export async function startRunControl(
  path: string,
  session: ControlSession,
  opts: ThreadedOptions = {},
): Promise<() => Promise<void>> {
  // No signal handlers: a handler runs on the main thread, which the program holds while its wasm
  // runs, so Ctrl-C would wait for the program to end. Without one, a signal ends the process at
  // once; the socket file it leaves is a stale socket, replaced by the next server at that path
  // (and `kmemleak ctl` on it says the program has exited).
  const server = await serveControlThreaded(path, engineHandler(session), {
    cleanupOnSignal: false, ...(session.wake ? { wake: session.wake } : {}), ...opts,
  });
  session.onPoll?.(() => server.poll());
  if (session.onReport) {
    server.publish(session.read());
    session.onReport(() => server.publish(session.read()));
  }
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    await server.close();
  };
}
