/**
 * Why: `kmemleak run` answers `scan` itself (scan-answer.ts) and mirrors the accepted `scan=`
 * commands in its own automatic-scan clock (auto-scan.ts), so it must read a command exactly as
 * the engine does (engine/control.ts: a prefix match on the first 63 bytes, kstrtoul numbers).
 * Read any other way, `scan=onion` (the engine's `scan=on`) became a period of NaN ms and every
 * later sleep of the program waited forever, and `scan scan` scanned without an answer.
 *
 * Invariant: returns null for every command that is not one of the scan commands the engine
 * accepts as such; the engine still decides errors (EBUSY when off, EINVAL, ERANGE).
 */
import { parseKernelUlong } from '../../engine/control.js';

export type ScanCommand =
  | { kind: 'scan' }
  | { kind: 'on' }
  | { kind: 'off' }
  | { kind: 'period'; ms: number };

/** kmemleak reads at most 63 bytes of a write (as engine/control.ts). */
const MAX_COMMAND = 63;

/** The scan command `cmd` is, as the engine's controlWrite matches it; null when none (or invalid). */
export function scanCommandOf(cmd: string): ScanCommand | null {
  const buf = cmd.slice(0, MAX_COMMAND);
  if (buf.startsWith('scan=on')) return { kind: 'on' };
  if (buf.startsWith('scan=off')) return { kind: 'off' };
  if (buf.startsWith('scan=')) {
    const secs = parseKernelUlong(buf.slice(5), 0xffffffff);
    return typeof secs === 'number' ? { kind: 'period', ms: Math.min(secs * 1000, 0xffffffff) } : null;
  }
  return buf.startsWith('scan') ? { kind: 'scan' } : null;
}
