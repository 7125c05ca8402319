/**
 * Why: commander hands over strings; `kmemleak run` needs validated, typed RunOptions, and every
 * bad value must become one line naming the option (exit status 2, as for other usage errors).
 *
 * Invariants: pure except for checking that --dir and --source-map paths exist; throws only
 * InputError(…, 2).
 */
import { statSync } from 'node:fs';
import { InputError } from '../wasm/runtime/errors.js';
import { RUN_DEFAULTS, type AllocatorNames, type RunOptions } from '../wasm/runtime/options.js';
import { MAX_TRACE } from '../wasm/runtime/stack-capture.js';
import { lsanGiven } from '../peers/run-flags.js';
import type { PartialSettings } from '../peers/lsan-flags.js';

/** The options as commander collects them (all strings, repeatables as arrays). */
export interface RawRunOptions {
  json?: string;
  report?: string;
  stack?: string;
  minAge?: string;
  scan?: string;
  firstScan?: string;
  exitcode?: string;
  control?: string;
  off?: boolean;
  dir?: string[];
  env?: string[];
  allocator?: string;
  earlyPool?: string;
  sourceMap?: string;
  traceDepth?: string;
  suppressions?: string[];
  baseline?: string;
  sarif?: string;
  html?: string;
  reportObjects?: boolean;
  /** The LeakSanitizer table's options (src/peers/lsan-flags.ts), by commander attribute name. */
  [lsanOption: string]: unknown;
}

const usage = (msg: string) => new InputError(msg, 2);

function integer(opt: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim())) throw usage(`${opt}: expected a whole number, got '${value}'`);
  const n = Number(value.trim());
  if (n < min || n > max) throw usage(`${opt}: ${n} is out of range (${min}..${max})`);
  return n;
}

function seconds(opt: string, value: string): number {
  const v = value.trim();
  if (!/^\d+(\.\d+)?$/.test(v)) throw usage(`${opt}: expected a number of seconds, got '${value}'`);
  return Math.round(Number(v) * 1000);
}

/** KIND=NAME pairs; which kinds exist (malloc, free, _Znwm, __rust_alloc, ...) is the rewriter's to check. */
export function parseAllocator(spec: string): AllocatorNames {
  const out: AllocatorNames = {};
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const role = eq > 0 ? part.slice(0, eq).trim() : '';
    const name = eq > 0 ? part.slice(eq + 1).trim() : '';
    if (!role || !name) throw usage(`--allocator: expected ROLE=NAME pairs like malloc=my_malloc,free=my_free, got '${part}'`);
    out[role] = /^\d+$/.test(name) ? Number(name) : name;
  }
  if (Object.keys(out).length === 0) throw usage('--allocator: expected ROLE=NAME pairs like malloc=my_malloc,free=my_free');
  return out;
}

function isDirectory(p: string): boolean {
  try { return statSync(p).isDirectory(); } catch { return false; }
}

function isFile(p: string): boolean {
  try { return statSync(p).isFile(); } catch { return false; }
}

/** HOST[:GUEST] -> [guest, host]. A Windows-style "C:\\x" host is not split at its drive colon. */
export function parseDir(spec: string): [guest: string, host: string] {
  const colon = spec.indexOf(':', /^[A-Za-z]:[\\/]/.test(spec) ? 2 : 0);
  const host = colon >= 0 ? spec.slice(0, colon) : spec;
  const guest = colon >= 0 ? spec.slice(colon + 1) : spec;
  if (!host || !guest) throw usage(`--dir: expected HOST[:GUEST], got '${spec}'`);
  if (!isDirectory(host)) throw usage(`--dir: '${host}' is not a directory`);
  return [guest, host];
}

export function parseEnv(spec: string): [string, string] {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw usage(`--env: expected NAME=VALUE, got '${spec}'`);
  return [spec.slice(0, eq), spec.slice(eq + 1)];
}

export function toRunOptions(module: string, args: string[], raw: RawRunOptions, hostEnv: NodeJS.ProcessEnv): RunOptions {
  const stackMode = raw.stack ?? 'on';
  if (stackMode !== 'on' && stackMode !== 'off') throw usage(`--stack: expected on or off, got '${stackMode}'`);
  let scanPeriodMs: number | null = RUN_DEFAULTS.scanPeriodMs;
  if (raw.scan !== undefined) {
    scanPeriodMs = raw.scan.trim() === 'off' ? null : seconds('--scan', raw.scan);
    if (scanPeriodMs === 0) scanPeriodMs = null;   // kmemleak's scan=0 stops automatic scanning
  }
  const env: Record<string, string> = {};
  for (const e of raw.env ?? []) { const [k, v] = parseEnv(e); env[k] = v; }
  const preopens: Record<string, string> = {};
  for (const d of raw.dir ?? []) { const [g, h] = parseDir(d); preopens[g] = h; }
  if (raw.sourceMap !== undefined && !isFile(raw.sourceMap)) throw usage(`--source-map: cannot read '${raw.sourceMap}'`);
  // run's own options that LSan also has; LSAN_OPTIONS fills what the command line leaves out.
  const own: PartialSettings = {};
  if (raw.stack !== undefined) own.useStacks = stackMode === 'on';
  if (raw.exitcode !== undefined) own.exitcode = integer('--exitcode', raw.exitcode, 0, 255);
  if (raw.traceDepth !== undefined) own.traceDepth = integer('--trace-depth', raw.traceDepth, 0, MAX_TRACE);
  const lsan = lsanGiven(raw, own, hostEnv);
  const opts: RunOptions = {
    module,
    args,
    env,
    preopens,
    stack: lsan.given.useStacks ?? RUN_DEFAULTS.stack,
    minAgeMs: raw.minAge === undefined ? RUN_DEFAULTS.minAgeMs : integer('--min-age', raw.minAge, 0, 2 ** 31 - 1),
    scanPeriodMs,
    firstScanMs: raw.firstScan === undefined ? RUN_DEFAULTS.firstScanMs : seconds('--first-scan', raw.firstScan),
    exitcode: lsan.given.exitcode ?? RUN_DEFAULTS.exitcode,
    off: raw.off === true || (hostEnv['KMEMLEAK'] ?? '').trim().toLowerCase() === 'off',
    traceDepth: lsan.given.traceDepth ?? RUN_DEFAULTS.traceDepth,
    lsan,
  };
  if (raw.json !== undefined) opts.json = raw.json;
  if (raw.report !== undefined) opts.report = raw.report;
  if (raw.control !== undefined) opts.control = raw.control;
  if (raw.allocator !== undefined) opts.allocator = parseAllocator(raw.allocator);
  if (raw.earlyPool !== undefined) opts.earlyPool = integer('--early-pool', raw.earlyPool, 1, 2 ** 31 - 1);
  if (raw.sourceMap !== undefined) opts.sourceMap = raw.sourceMap;
  if (raw.suppressions !== undefined) opts.suppressions = raw.suppressions;
  if (raw.baseline !== undefined) opts.baseline = raw.baseline;
  if (raw.sarif !== undefined) opts.sarif = raw.sarif;
  if (raw.html !== undefined) opts.html = raw.html;
  if (raw.reportObjects === true) opts.reportObjects = true;
  return opts;
}
