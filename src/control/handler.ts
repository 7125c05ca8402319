/**
 * What the control file asks of its target, and the plain mapping onto the engine. Kept apart
 * from the socket code so browser bundles (no node:net) can use it.
 *
 * Invariant: a handler answers every command; '' is a read; errors are answers, not exceptions.
 */
import type { Answer } from './protocol.js';

/** Handles one command ('' = read). May answer later (e.g. a scan deferred to a safe point). */
export type ControlHandler = (cmd: string) => Answer | Promise<Answer>;

/**
 * What the control file needs from the engine: kmemleak's write and read of the debugfs file.
 * When the target also has control() (the engine's write with the command's own output, e.g.
 * dump=), that output is the answer's body.
 */
export interface ControlTarget {
  write(cmd: string): string;
  read(): string;
  control?(cmd: string): { error: string | null; output: string };
}

/** The plain mapping: '' reads; anything else is written, '' back meaning success. */
export function engineHandler(target: ControlTarget): ControlHandler {
  return (cmd) => {
    if (cmd === '') return { ok: true, text: target.read() };
    if (target.control) {
      const r = target.control(cmd);
      return r.error === null ? { ok: true, text: r.output } : { ok: false, text: r.error };
    }
    const err = target.write(cmd);
    return err === '' ? { ok: true, text: '' } : { ok: false, text: err };
  };
}

