/**
 * Why: one typed description of a `kmemleak run`, shared by the command line (which parses it
 * from argv) and the runtime (which executes it), so neither re-parses the other's strings.
 *
 * Invariants: every field is already validated (numbers finite and in range, paths as given);
 * defaults are SPEC §4's and live in RUN_DEFAULTS only.
 */
import { MAX_TRACE } from './stack-capture.js';
import type { LsanGiven } from '../../peers/run-flags.js';

/** `--allocator` roles the rewriter understands, mapped to a function name or index. */
export type AllocatorNames = Record<string, string | number>;

export interface RunOptions {
  /** Path of the .wasm file, as given. */
  module: string;
  /** Arguments after the module (argv[1..] of the program). */
  args: string[];
  /** The program's environment (only what --env gave). */
  env: Record<string, string>;
  /** WASI preopens: guest path -> host path. */
  preopens: Record<string, string>;
  /** --json FILE */
  json?: string;
  /** --report FILE (default: standard error) */
  report?: string;
  /** --stack=on|off */
  stack: boolean;
  /** --min-age MS, for scans while the program runs. */
  minAgeMs: number;
  /** --scan=SECS|off: the automatic scan period in ms, or null when off. */
  scanPeriodMs: number | null;
  /** --first-scan SECS, in ms. */
  firstScanMs: number;
  /** --exitcode N: status when the exit scan reports leaks; 0 keeps the program's own. */
  exitcode: number;
  /** --control PATH */
  control?: string;
  /** --off / KMEMLEAK=off: run without the detector. */
  off: boolean;
  /** --allocator malloc=NAME,free=NAME,... */
  allocator?: AllocatorNames;
  /** --early-pool N */
  earlyPool?: number;
  /** --source-map FILE */
  sourceMap?: string;
  /**
   * --trace-depth N: frames kept per backtrace, 0..MAX_TRACE (default RUN_DEFAULTS.traceDepth).
   * 0 is stacks off: no stack is captured, leaks and warnings are reported with no backtrace.
   */
  traceDepth?: number;
  /** --suppressions FILE (repeatable): LeakSanitizer suppression files, in order (SPEC §7). */
  suppressions?: string[];
  /** --baseline FILE: an earlier --json report; its sites do not fail the run. */
  baseline?: string;
  /** --sarif FILE: the sites as SARIF 2.1.0. */
  sarif?: string;
  /** --html FILE: the report as one self-contained HTML page (src/report/html/). */
  html?: string;
  /** --report-objects: the exit text lists every object, not one record per site. */
  reportObjects?: boolean;
  /** The tool's version, for SARIF (the command line sets it). */
  toolVersion?: string;
  /**
   * Calling-context instrumentation (default true). Off, every allocation captures its stack:
   * slower, for measurements and tests; not a command-line option.
   */
  callingContext?: boolean;
  /**
   * LeakSanitizer's settings given by LSAN_OPTIONS or the command line (src/peers/lsan-flags.ts;
   * exitcode, stack and traceDepth above already include them); the program's own
   * __lsan_default_options() fills in only the others.
   */
  lsan?: LsanGiven;
}

export const RUN_DEFAULTS = {
  stack: true,
  minAgeMs: 5000,
  scanPeriodMs: 600_000 as number | null,
  firstScanMs: 60_000,
  exitcode: 23,
  off: false,
  traceDepth: MAX_TRACE,
} as const;

/** Why `n` is not a valid trace depth (a whole number 0..MAX_TRACE), or null when it is one. */
export function traceDepthProblem(n: unknown): string | null {
  if (typeof n !== 'number' || !Number.isInteger(n)) return `expected a whole number 0..${MAX_TRACE}, got ${typeof n === 'string' ? `'${n}'` : String(n)}`;
  if (n < 0 || n > MAX_TRACE) return `${n} is out of range (0..${MAX_TRACE})`;
  return null;
}

/** Exit status after a trap: what a shell reports for SIGABRT (128 + 6). */
export const TRAP_EXIT = 134;
