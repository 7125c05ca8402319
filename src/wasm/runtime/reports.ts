/**
 * Why: the reports at exit (SPEC §6): kmemleak's text report to stderr or --report FILE, and
 * the JSON report with --json FILE. Paths are checked for writability before the program runs
 * (without creating anything), so a typo in a path costs one line, not a whole run.
 *
 * Invariants: the text is exactly engine.read(); the JSON is src/report/json.ts's shape with
 * `program` = the module's file name; a --report or --json file is written even when there is
 * nothing to report (an empty report, `"leaks": []`), so a stale file never survives a run.
 */
import { accessSync, constants, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Kmemleak } from '../../engine/index.js';
import { buildJsonReport } from '../../report/json.js';
import { InputError, oneLine } from './errors.js';
import type { RunOptions } from './options.js';

/** One-line error now when a report path cannot be written (nothing is created or truncated). */
export function checkReportFiles(opts: RunOptions): void {
  for (const [flag, path] of [['--report', opts.report], ['--json', opts.json]] as const) {
    if (path === undefined) continue;
    let why = '';
    try {
      const st = statSync(path, { throwIfNoEntry: false });
      if (st?.isDirectory()) why = 'is a directory';
      else if (st) accessSync(path, constants.W_OK);
      else {
        const dir = statSync(dirname(path), { throwIfNoEntry: false });
        if (!dir || !dir.isDirectory()) why = 'no such directory';
        else accessSync(dirname(path), constants.W_OK);
      }
    } catch (e) {
      why = (e as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : oneLine(e);
    }
    if (why) throw new InputError(`${flag}: cannot write ${path}: ${why}`);
  }
}

/** Writes the reports; returns the number of objects reported. */
export function writeReports(engine: Kmemleak, opts: RunOptions, err: (text: string) => void, program: string): number {
  const text = engine.read();
  const leaks = engine.leaks();
  try {
    if (opts.report !== undefined) writeFileSync(opts.report, text);
    else if (text) err(text);
    if (opts.json !== undefined) writeFileSync(opts.json, JSON.stringify(buildJsonReport(program, leaks), null, 2) + '\n');
  } catch (e) {
    throw new InputError(`cannot write the report: ${oneLine(e)}`);
  }
  return leaks.length;
}
