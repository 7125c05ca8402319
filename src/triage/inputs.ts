/**
 * Why: the triage's inputs from files (Node only), read before the program runs so that a bad
 * file costs one line and no run: suppression files (--suppressions, LSAN_OPTIONS) and the
 * baseline (--baseline).
 *
 * Invariants: errors are SuppressionError / BaselineError, one line naming the file (and the line
 * when the content is bad).
 */
import { readFileSync } from 'node:fs';
import { BaselineError, parseBaseline } from './baseline.js';
import { parseSuppressions, SuppressionError, type Suppression } from './suppressions.js';

export interface TriageInputs {
  suppressions: Suppression[];
  /** Site keys of the baseline report, or null without --baseline. */
  baseline: Set<string> | null;
}

/** Reads every --suppressions file (in order) and the --baseline file. */
export function loadTriageInputs(suppressionFiles: readonly string[], baselineFile: string | undefined): TriageInputs {
  const suppressions: Suppression[] = [];
  for (const f of suppressionFiles) suppressions.push(...readSuppressionFile(f));
  return { suppressions, baseline: baselineFile === undefined ? null : readBaseline(baselineFile) };
}

/** Reads and parses a suppressions file. */
export function readSuppressionFile(path: string): Suppression[] {
  return parseSuppressions(readText(path, (why) => new SuppressionError(path, 0, why)), path);
}

/** Reads a baseline file: the site keys of an earlier JSON report. */
export function readBaseline(path: string): Set<string> {
  return parseBaseline(readText(path, (why) => new BaselineError(path, 0, why)), path);
}

function readText(path: string, fail: (why: string) => Error): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : e instanceof Error ? e.message : String(e);
    throw fail(`cannot read: ${why}`);
  }
}
