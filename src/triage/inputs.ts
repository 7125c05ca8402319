/**
 * Why: the triage's inputs from files (Node only), read before the program runs so that a bad
 * file costs one line and no run: suppression files (--suppressions, LSAN_OPTIONS).
 *
 * Invariants: errors are SuppressionError, one line naming the file (and the line when the
 * content is bad).
 */
import { readFileSync } from 'node:fs';
import { parseSuppressions, SuppressionError, type Suppression } from './suppressions.js';

/** Reads and parses a suppressions file. */
export function readSuppressionFile(path: string): Suppression[] {
  return parseSuppressions(readText(path, (why) => new SuppressionError(path, 0, why)), path);
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
