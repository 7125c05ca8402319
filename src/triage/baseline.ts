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
  notJsonReport(text, file);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const pos = /position (\d+)/.exec(msg);
    // Without a position (V8's "Unexpected token" quotes the text instead) no line is named:
    // the end of the file would be a wrong one.
    const line = pos ? lineAt(text, Number(pos[1])) : 0;
    throw new BaselineError(file, line, `not valid JSON (${printable(msg.split('\n')[0]!)})`);
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

/**
 * The two mistakes JSON.parse words badly: a binary file (its message quotes raw bytes to the
 * terminal) and a text report (`kmemleak report --baseline` reads those, `run --baseline` not).
 */
function notJsonReport(text: string, file: string): void {
  const bin = /[\0-\x08\x0e-\x1f]/.exec(text.slice(0, 4096));
  if (bin) throw new BaselineError(file, lineAt(text, bin.index), 'binary data, not a kmemleak --json report');
  const first = /\S/.exec(text);
  if (first && first[0] !== '{' && first[0] !== '[') {
    const why = /^(unreferenced object|kmemleak:|memory leak in)/m.test(text)
      ? 'a text report, not JSON: --baseline takes an earlier --json report (kmemleak report --baseline reads text too)'
      : 'not JSON: --baseline takes an earlier --json report';
    throw new BaselineError(file, lineAt(text, first.index), why);
  }
}

/** Control characters shown as '?', so a message stays one printable line. */
function printable(s: string): string {
  return s.replace(/[\0-\x1f\x7f]/g, '?');
}

function lineAt(text: string, pos: number): number {
  let line = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
