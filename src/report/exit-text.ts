/**
 * The exit report's text (SPEC §7): one kmemleak record per site (its first object) followed by
 * its counts line, new sites before the baseline's, each group by retained bytes; then the
 * summary line and LeakSanitizer's `Suppressions used:` table. With `objects` (--report-objects),
 * every reported object in allocation order instead of one per site, as the control file lists.
 *
 * Invariants: records are kmemleak's (text.ts formatLeak); a backtrace's text is rendered once
 * per trace handle, not per object; text goes out through `write` a record at a time.
 */
import type { LeakRecord } from '../engine/leak-record.js';
import type { Frame } from '../symbolize/frame.js';
import type { Site } from '../triage/sites.js';
import type { SuppressionUse, Triage, TriageSummary } from '../triage/triage.js';
import { backtraceLines, formatLeak } from './text.js';

export interface ExitTextSource {
  /** Object i's record, without its backtrace. */
  record(i: number): LeakRecord;
  /** Trace handle -> frames (called once per handle). */
  describe(trace: number): Frame[];
}

export interface ExitTextOptions {
  /** --report-objects: every object instead of one record per site. */
  objects?: boolean;
  /** The baseline file, named in the line before known sites. */
  baseline?: string;
  /** At most this many records (sites, or objects); 0: all (LSan's max_leaks). */
  maxRecords?: number;
}

export function countsLine(site: Site): string {
  return `  ${site.objects} objects, ${site.bytes} bytes at this site (${site.direct} direct, ${site.indirect} indirect), retained ${site.retained} bytes\n`;
}

export function summaryLine(s: TriageSummary): string {
  return `kmemleak: summary: ${s.bytes} bytes in ${s.objects} objects at ${s.sites} sites (${s.direct} direct, ${s.indirect} indirect)\n`;
}

const BAR = '-----------------------------------------------------';

/** LeakSanitizer's table of the suppressions that matched (empty when none did). */
export function suppressionsTable(used: readonly SuppressionUse[]): string {
  if (used.length === 0) return '';
  let out = `${BAR}\nSuppressions used:\n  count      bytes template\n`;
  for (const u of used) out += `${String(u.count).padStart(7)} ${String(u.bytes).padStart(10)} ${u.pattern}\n`;
  return out + `${BAR}\n\n`;
}

/** Writes the exit report's text for `t` through `write`. */
export function writeExitText(t: Triage, src: ExitTextSource, write: (text: string) => void, opts: ExitTextOptions = {}): void {
  const btText = new Map<number, string>();
  const recordText = (i: number): string => {
    const h = t.graph.trace[i]!;
    let bt = btText.get(h);
    if (bt === undefined) {
      bt = backtraceLines(src.describe(h));
      btText.set(h, bt);
    }
    const rec = src.record(i);
    rec.backtrace = undefined;
    return formatLeak(rec) + bt;
  };
  const max = opts.maxRecords && opts.maxRecords > 0 ? opts.maxRecords : Infinity;
  let shown = 0;
  if (opts.objects) {
    for (let i = 0; i < t.graph.n; i++) {
      if (!t.reported[i]) continue;
      if (shown++ < max) write(recordText(i));
    }
    if (shown > max) write(`kmemleak: ${shown - max} more leaked objects not shown (max_leaks=${max})\n`);
  } else {
    let knownShown = false;
    for (const site of t.sites) {
      if (site.suppressed !== null) break;
      if (shown++ >= max) continue;
      if (site.baseline && !knownShown) {
        knownShown = true;
        const b = t.summary.baseline;
        write(`kmemleak: ${b.sites} known sites${opts.baseline ? ` (in the baseline ${opts.baseline})` : ''}: ${b.bytes} bytes in ${b.objects} objects, not failing the run\n`);
      }
      write(recordText(site.first) + countsLine(site));
    }
    if (shown > max) write(`kmemleak: ${shown - max} more sites not shown (max_leaks=${max})\n`);
  }
  if (t.graph.n > 0) write(summaryLine(t.summary) + suppressionsTable(t.used));
}
