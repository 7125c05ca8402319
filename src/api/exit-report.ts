/**
 * The exit report of an Emscripten program run by kmemleak.emscripten() (its `exitReport` option).
 *
 * Why: with the glue's default the program's main runs inside the factory, and with
 * -sEXIT_RUNTIME=1 the process ends inside wasm's exit path: the handle does not exist yet for the
 * caller, and handle.exitScan() waits for a safe point that never comes. So the glue's
 * `Module.onExit` (called by its procExit after the runtime and the pthreads are shut down, before
 * its quit) is wrapped: the exit scan runs there, synchronously — exit is a safe point, as it is
 * for `kmemleak run` at proc_exit — and the report is `kmemleak run`'s exit text
 * (src/report/exit-text.ts), written through the log (stderr by default) or handed to a callback.
 *
 * Invariants: the user's own onExit is still called, after the report, with the same code; the
 * program's output and exit status stay its own (nothing here throws into the glue's exit path:
 * a failure is one log line); the report is made once per handle.
 */
import type { Kmemleak, LeakRecord } from '../engine/index.js';
import { writeExitText } from '../report/exit-text.js';
import type { Suppression } from '../triage/suppressions.js';
import { cachedDescribe, triagedLeaks, triageNow } from './triage.js';

export interface ExitReport {
  /** The program's exit status (the code the glue's onExit got). */
  status: number;
  /** Objects the exit scan newly reported (its "N new suspected memory leaks" line). */
  newLeaks: number;
  /** The exit report's text, as `kmemleak run` writes it (one record per site, the summary). */
  text: string;
  /** The reported, unsuppressed objects as records (as handle.leaks()). */
  leaks: LeakRecord[];
}

/** `true`: the text through the log (stderr by default); a function: the report, nothing printed. */
export type ExitReportOption = boolean | ((report: ExitReport) => void);

/** The exit scan now (minimum age 0, whatever wasm frames are live) and its report. */
export function exitReportNow(engine: Kmemleak, suppressions: readonly Suppression[], status: number): ExitReport {
  const newLeaks = engine.exitScan();
  const describe = cachedDescribe(engine);
  const t = triageNow(engine, describe, suppressions, null);
  let text = '';
  writeExitText(t, { record: (i) => engine.leakRecord(t.graph.slots[i]!), describe }, (s) => (text += s));
  return { status, newLeaks, text, leaks: triagedLeaks(engine, t, describe) };
}

/** What wrapOnExit needs of the handle (null until the wasm is instantiated). */
export interface ExitReportSource {
  exitReportNow(status: number): ExitReport;
}

/**
 * Puts the exit report into moduleArg.onExit (before the user's own onExit). `log` gets the text
 * a line at a time when `option` is true, and the one line of a failure.
 */
export function wrapOnExit(
  moduleArg: Record<string, unknown>, option: ExitReportOption, source: () => ExitReportSource | null, log: (line: string) => void,
): void {
  const user = moduleArg.onExit;
  let done = false;
  moduleArg.onExit = (code: number): unknown => {
    const h = done ? null : source();
    if (h) {
      done = true;
      try {
        const r = h.exitReportNow(code);
        if (typeof option === 'function') option(r);
        else for (const line of r.text.split('\n').slice(0, -1)) log(line);   // text ends with \n
      } catch (e) {
        log(`kmemleak: the exit report failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      }
    }
    return typeof user === 'function' ? (user as (c: number) => unknown)(code) : undefined;
  };
}
