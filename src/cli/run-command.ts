/**
 * Why: the `run` subcommand's action, kept apart from argument parsing: hands validated options
 * to the runtime and returns its exit status. `--control PATH` serves the live control file
 * (src/control/run-control.ts) while the program runs.
 *
 * Invariant: returns the status `kmemleak run` exits with; errors propagate to main(), which
 * prints them as one line.
 */
import { InputError, oneLine } from '../wasm/runtime/errors.js';
import type { RunOptions } from '../wasm/runtime/options.js';
import { runModule, type RunSession } from '../wasm/runtime/run.js';
import type { CliIO } from './io.js';

/** Serves the control file for a running program; returns a function that stops serving. */
export type ControlStarter = (path: string, session: RunSession) => Promise<() => Promise<void>>;

/**
 * Serves --control: a socket on a worker thread, answered from the program's hooks. Loaded only
 * when asked for (node:net and node:worker_threads cost every other run a few ms to load).
 */
export const startControl: ControlStarter | null = async (path, session) =>
  (await import('../control/run-control.js')).startRunControl(path, session);

export async function runCli(opts: RunOptions, io: CliIO): Promise<number> {
  if (opts.control !== undefined && startControl === null) {
    throw new InputError('--control: not yet supported (serving the control file while the program runs is still being built)', 2);
  }
  let stop: (() => Promise<void>) | null = null;
  try {
    const result = await runModule(opts, {
      err: io.err,
      onStart: async (session) => {
        if (opts.control === undefined || !startControl) return;
        try {
          stop = await startControl(opts.control, session);
        } catch (e) {
          // A path we cannot serve on (no such directory, a file in the way) is the user's input.
          throw new InputError(oneLine(e));
        }
      },
    });
    return result.status;
  } finally {
    if (stop) await (stop as () => Promise<void>)();
  }
}
