/**
 * Why: adopting the detector in CI on a code base that already leaks. `--baseline FILE` names an
 * earlier `--json` report; sites it has are known, listed after the new ones and not failing the
 * run (SPEC §7).
 *
 * Invariants: a baseline is the set of site keys (sites.ts) of the report's `sites`, or, for a
 * report written before sites existed, of its leaks' backtraces. A file that cannot be read or is
 * not such a report is a BaselineError: one line naming the file and the line. No I/O here (the
 * file is read by inputs.ts).
 */
import { siteKey, type SiteFrame } from './sites.js';

export class BaselineError extends Error {
  constructor(readonly file: string, readonly line: number, why: string) {
    super(line > 0 ? `${file}:${line}: ${why}` : `${file}: ${why}`);
    this.name = 'BaselineError';
  }
}

/** The site keys of a JSON report's text. */
export function parseBaseline(text: string, file: string): Set<string> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const pos = /position (\d+)/.exec(msg);
    const line = pos ? lineAt(text, Number(pos[1])) : lineAt(text, text.length);
    throw new BaselineError(file, line, `not valid JSON (${msg.split('\n')[0]})`);
  }
  const notReport = (why: string): BaselineError => new BaselineError(file, 1, `not a kmemleak --json report: ${why}`);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw notReport('expected an object');
  const report = doc as { sites?: unknown; leaks?: unknown };
  const keys = new Set<string>();
  if (report.sites !== undefined) {
    if (!Array.isArray(report.sites)) throw notReport('"sites" is not a list');
    report.sites.forEach((s, k) => keys.add(siteKey(framesOf((s as { backtrace?: unknown } | null)?.backtrace, `sites[${k}]`, notReport))));
    return keys;
  }
  if (!Array.isArray(report.leaks)) throw notReport('no "sites" or "leaks" list');
  report.leaks.forEach((l, k) => keys.add(siteKey(framesOf((l as { backtrace?: unknown } | null)?.backtrace, `leaks[${k}]`, notReport))));
  return keys;
}

function framesOf(bt: unknown, where: string, fail: (why: string) => Error): SiteFrame[] {
  if (!Array.isArray(bt)) throw fail(`${where} has no "backtrace" list`);
  return bt.map((f: unknown, i) => {
    const fr = f as { function?: unknown; file?: unknown; funcIndex?: unknown } | null;
    if (!fr || typeof fr !== 'object' || !(fr.function === null || typeof fr.function === 'string')) {
      throw fail(`${where}.backtrace[${i}] has no "function" (a string or null)`);
    }
    return {
      function: fr.function,
      file: typeof fr.file === 'string' ? fr.file : undefined,
      funcIndex: typeof fr.funcIndex === 'number' ? fr.funcIndex : undefined,
    };
  });
}

function lineAt(text: string, pos: number): number {
  let line = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
