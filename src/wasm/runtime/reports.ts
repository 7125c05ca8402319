/**
 * Why: the reports at exit (SPEC §6): kmemleak's text report to stderr or --report FILE, and
 * the JSON report with --json FILE. Paths are checked for writability before the program runs
 * (without creating anything), so a typo in a path costs one line, not a whole run.
 *
 * Invariants: the text is engine.read()'s (without its length limit); the JSON is src/report/json.ts's shape with
 * `program` = the module's file name; a --report or --json file is written even when there is
 * nothing to report (an empty report, `"leaks": []`), so a stale file never survives a run.
 */
import { accessSync, closeSync, constants, openSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Kmemleak } from '../../engine/index.js';
import { JsonReportWriter } from '../../report/json.js';
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

/** Text is handed on once this much has gathered (a few hundred objects' worth). */
const CHUNK = 1 << 20;

/**
 * Writes the reports, an object at a time (a report of millions of objects does not fit in one
 * JS string); returns the number of objects reported.
 */
export function writeReports(
  engine: Kmemleak, opts: RunOptions, err: (text: string) => void, program: string,
  /** At most this many objects are listed (LSan's max_leaks; 0: all). */
  maxLeaks = 0,
  /** No check ran (LSan's _exit(), leak_check_at_exit=0): files are written empty. */
  empty = false,
): number {
  let textFd = -1;
  let jsonFd = -1;
  try {
    if (opts.report !== undefined) textFd = openSync(opts.report, 'w');
    if (opts.json !== undefined) jsonFd = openSync(opts.json, 'w');
    const text = chunked(textFd >= 0 ? (t) => writeAll(textFd, t) : err);
    const jsonOut = jsonFd >= 0 ? chunked((t) => writeAll(jsonFd, t)) : null;
    const json = jsonOut ? new JsonReportWriter(program, jsonOut.add) : null;
    let shown = 0;
    const count = empty ? 0 : engine.eachLeak((rec, leakText) => {
      if (maxLeaks > 0 && shown >= maxLeaks) return;
      shown++;
      text.add(leakText);
      json?.leak(rec);
    });
    if (count > shown && shown > 0) text.add(maxLeaksLine(count, maxLeaks));
    text.flush();
    if (json && jsonOut) {
      json.end();
      jsonOut.flush();
    }
    return count;
  } catch (e) {
    throw new InputError(`cannot write the report: ${oneLine(e)}`);
  } finally {
    if (textFd >= 0) closeSync(textFd);
    if (jsonFd >= 0) closeSync(jsonFd);
  }
}

function maxLeaksLine(count: number, maxLeaks: number): string {
  return `kmemleak: ${count - maxLeaks} more leaked objects not shown (max_leaks=${maxLeaks})\n`;
}

/**
 * The text of every object leaked now, to `err` (a check the program asked for while it runs:
 * LSan's recoverable check prints the whole report each time). Returns how many there are.
 */
export function printLeaks(engine: Kmemleak, maxLeaks: number, err: (text: string) => void): number {
  const text = chunked(err);
  let shown = 0;
  const count = engine.eachLeak((_rec, leakText) => {
    if (maxLeaks > 0 && shown >= maxLeaks) return;
    shown++;
    text.add(leakText);
  });
  if (count > shown && shown > 0) text.add(maxLeaksLine(count, maxLeaks));
  text.flush();
  return count;
}

/** Gathers text and hands it to `out` in pieces of about CHUNK characters (never an empty one). */
function chunked(out: (text: string) => void): { add: (text: string) => void; flush: () => void } {
  let pending = '';
  const flush = (): void => {
    if (pending !== '') out(pending);
    pending = '';
  };
  return {
    add: (text) => {
      pending += text;
      if (pending.length >= CHUNK) flush();
    },
    flush,
  };
}

/** writeSync may write less than asked (a pipe, a signal): loop until every byte is out. */
function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
}
