/**
 * Why: the reports at exit (SPEC §6, §7): the text report to stderr or --report FILE, the JSON
 * report with --json FILE, SARIF with --sarif FILE, all from one triage of the leaks. Paths are checked for writability before the program runs
 * (without creating anything), so a typo in a path costs one line, not a whole run.
 *
 * Invariants: the text is one kmemleak record per site (every object, as engine.read() lists them,
 * with --report-objects) and the summary (src/report/exit-text.ts); the JSON is
 * src/report/json-sites.ts's shape with `program` = the module's file name; a --report or --json file is written even when there is
 * nothing to report (an empty report, `"leaks": []`), so a stale file never survives a run.
 */
import { accessSync, closeSync, constants, openSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Kmemleak } from '../../engine/index.js';
import { emptyLeakGraph } from '../../engine/leak-graph.js';
import { writeExitText, type ExitTextSource } from '../../report/exit-text.js';
import { buildJsonSites, writeJsonSites } from '../../report/json-sites.js';
import { buildHtmlReport } from '../../report/html/page.js';
import { buildSarif } from '../../report/sarif.js';
import type { TriageInputs } from '../../triage/inputs.js';
import { describeOnce, triage, type Triage } from '../../triage/triage.js';
import { InputError, oneLine } from './errors.js';
import type { RunOptions } from './options.js';

/** One-line error now when a report path cannot be written (nothing is created or truncated). */
export function checkReportFiles(opts: RunOptions): void {
  for (const [flag, path] of [['--report', opts.report], ['--json', opts.json], ['--sarif', opts.sarif], ['--html', opts.html]] as const) {
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

/** What a report found: objects reported, and those outside the baseline (the exit status's). */
export interface ReportCounts {
  leaks: number;
  newLeaks: number;
  /** The N of the "N new suspected memory leaks" line this report printed; null: it printed none. */
  announced: number | null;
}

/** What shapes a report beyond RunOptions: the triage's inputs and LSan's settings. */
export interface ReportSettings {
  inputs: TriageInputs;
  /** At most this many records (sites, or objects with reportObjects) are listed; 0: all (LSan's max_leaks). */
  maxLeaks?: number;
  /** Every object instead of one record per site (--report-objects, LSan's report_objects). */
  reportObjects?: boolean;
  /**
   * The scan before this report did not announce its new leaks (Kmemleak.exitScan(false)): the
   * report does, counting what it lists. `before`: slots reported by earlier scans.
   */
  announce?: { before: Uint32Array; location: string };
}

/** The leaks now, triaged (src/triage/): sites, kinds, suppressions, baseline. */
function triageLeaks(engine: Kmemleak, program: string, s: ReportSettings, empty: boolean): { t: Triage; src: ExitTextSource } {
  const describe = describeOnce((h) => engine.describer?.describe(h) ?? []);
  const graph = empty ? emptyLeakGraph() : engine.leakGraph();
  const t = triage(graph, describe, {
    suppressions: s.inputs.suppressions,
    module: program,
    ...(s.inputs.baseline ? { baseline: s.inputs.baseline } : {}),
  });
  return { t, src: { record: (i: number) => engine.leakRecord(graph.slots[i]!), describe } };
}

/**
 * The final reports: the text (one record per site with its counts line, or every object with
 * --report-objects; the summary line; LSan's suppressions table), --json, --sarif. Each is
 * written a piece at a time (a report of millions of objects does not fit in one JS string).
 * `empty`: no check ran (LSan's _exit(), leak_check_at_exit=0): the files are written empty.
 */
export function writeReports(
  engine: Kmemleak, opts: RunOptions, err: (text: string) => void, program: string, s: ReportSettings, empty = false,
): ReportCounts {
  const fds: number[] = [];
  const open = (path: string): number => {
    const fd = openSync(path, 'w');
    fds.push(fd);
    return fd;
  };
  try {
    const { t, src } = triageLeaks(engine, program, s, empty);
    const announced = s.announce ? announceNew(t, s.announce, err) : null;
    const text = opts.report !== undefined ? fileSink(open(opts.report)) : chunked(err);
    writeExitText(t, src, text.add, {
      objects: s.reportObjects === true,
      maxRecords: s.maxLeaks ?? 0,
      ...(opts.baseline !== undefined ? { baseline: opts.baseline } : {}),
    });
    text.flush();
    if (opts.json !== undefined) {
      const json = fileSink(open(opts.json));
      writeJsonSites(program, t, src, json.add);
      json.flush();
    }
    if (opts.html !== undefined) writeAll(open(opts.html), buildHtmlReport(buildJsonSites(program, t, src)));
    if (opts.sarif !== undefined) {
      const sarif = buildSarif({ program, sites: t.sites, toolVersion: opts.toolVersion ?? 'unknown' });
      writeAll(open(opts.sarif), JSON.stringify(sarif, null, 2) + '\n');
    }
    return { leaks: t.summary.objects, newLeaks: t.newObjects, announced };
  } catch (e) {
    throw new InputError(`cannot write the report: ${oneLine(e)}`);
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/**
 * The text report of the leaks now, to `err` (a check the program asked for while it runs:
 * LSan's recoverable check prints the whole report each time).
 */
export function printLeaks(engine: Kmemleak, err: (text: string) => void, program: string, s: ReportSettings): ReportCounts {
  const { t, src } = triageLeaks(engine, program, s, false);
  const announced = s.announce ? announceNew(t, s.announce, err) : null;
  const text = chunked(err);
  writeExitText(t, src, text.add, { objects: s.reportObjects === true, maxRecords: s.maxLeaks ?? 0 });
  text.flush();
  return { leaks: t.summary.objects, newLeaks: t.newObjects, announced };
}

/**
 * kmemleak's "N new suspected memory leaks (see ...)" for the scan just run, N counting the objects
 * it newly reported that this report lists (the kernel counts what it reports): suppressed ones,
 * and ones an earlier scan reported, are not counted. Returns N.
 */
function announceNew(t: Triage, a: { before: Uint32Array; location: string }, err: (text: string) => void): number {
  let n = 0;
  if (a.before.length === 0) n = t.summary.objects;
  else {
    const old = new Set(a.before);
    const { reported } = t;
    const slots = t.graph.slots;
    for (let i = 0; i < slots.length; i++) if (reported[i] === 1 && !old.has(slots[i]!)) n++;
  }
  if (n > 0) err(`kmemleak: ${n} new suspected memory leaks (see ${a.location})\n`);
  return n;
}

interface Sink {
  add: (text: string) => void;
  flush: () => void;
}

/**
 * Gathers text and hands it to `out` in pieces of about CHUNK characters (never an empty one).
 * The pieces are joined once per chunk: a `+=` rope of thousands of pieces costs far more to
 * flatten when it is encoded.
 */
function chunked(out: (text: string) => void): Sink {
  let parts: string[] = [];
  let length = 0;
  const flush = (): void => {
    if (length > 0) out(parts.join(''));
    parts = [];
    length = 0;
  };
  return {
    add: (text) => {
      parts.push(text);
      length += text.length;
      if (length >= CHUNK) flush();
    },
    flush,
  };
}

/**
 * Text to a file: encoded straight into one reused buffer of CHUNK bytes, written when full (no
 * string joined, no buffer allocated per piece: 100K objects are ~300 MB of JSON and text).
 */
function fileSink(fd: number): Sink {
  const buf = Buffer.allocUnsafe(CHUNK);
  let pos = 0;
  const flush = (): void => {
    writeBytes(fd, buf, pos);
    pos = 0;
  };
  return {
    add: (text) => {
      // A UTF-16 unit takes at most 3 bytes of UTF-8: only then is the room certain.
      if (3 * text.length > CHUNK - pos) {
        flush();
        if (3 * text.length > CHUNK) {
          writeAll(fd, text);
          return;
        }
      }
      pos += buf.write(text, pos, 'utf8');
    },
    flush,
  };
}

function writeBytes(fd: number, bytes: Buffer, length: number): void {
  for (let at = 0; at < length; ) at += writeSync(fd, bytes, at, length - at);
}

/** writeSync may write less than asked (a pipe, a signal): loop until every byte is out. */
function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  writeBytes(fd, bytes, bytes.length);
}
